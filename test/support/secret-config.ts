/**
 * A config text that sets every key the schema marks secret (SECRET_KEYS), each to a value holding
 * `s3cret`, and `admin.tls_cert` (not secret) beside `admin.tls_key`: what the redaction tests (the
 * config check's and the logger's) feed in and search their output for.
 */
export const SECRET_CONFIG_LINES: readonly string[] = [
  '[ami]',
  'secret = "ami-s3cret"',
  '[esl_inbound]',
  'password = "esl-s3cret"',
  '[sip_edge]',
  'secret = "edge-s3cret"',
  '[admin]',
  'tls_cert = "/etc/callscreen/cert.pem"',
  'tls_key = "/etc/callscreen/key-s3cret.pem"',
];
