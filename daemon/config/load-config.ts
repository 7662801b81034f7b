/**
 * Reads the TOML config once, validates it against the schema, fills defaults and freezes it.
 * Errors name the key and the line (`fastagi.listen (line 12): must match …`), and unknown keys are
 * refused (a typo must not silently fall back to a default).
 *
 * TOML, not YAML: a YAML parser turns +15551234567 into an integer.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseToml, TomlError } from 'smol-toml';
import { CallscreenError } from '../core/errors.js';
import { checkConfigRules } from './config-rules.js';
import { CONFIG_SCHEMA, SECRET_KEYS, SECRET_URL_KEYS, type Config } from './schema.js';

export interface LoadedConfig {
  readonly config: Config;
  /** The file read, or null for the embedded defaults. */
  readonly source: string | null;
}

export class ConfigLoader {
  private readonly validate;

  constructor() {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
    // The validator narrows what it accepts to Config (the type derived from the same schema).
    this.validate = ajv.compile<Config>(CONFIG_SCHEMA);
  }

  /** Loads `path`, or the embedded defaults when path is null. */
  load(path: string | null): LoadedConfig {
    if (path === null) return { config: this.fromText('', '(defaults)'), source: null };
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CallscreenError(
        'CS_ERR_FILE_NOT_FOUND',
        `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        { path },
      );
    }
    return { config: this.fromText(text, path), source: path };
  }

  fromText(text: string, name: string): Config {
    let data: unknown;
    try {
      data = parseToml(text);
    } catch (err) {
      if (err instanceof TomlError) {
        const firstLine = err.message.split('\n')[0] ?? err.message;
        throw new CallscreenError(
          'CS_ERR_CONFIG_SYNTAX',
          `${name} line ${err.line}, column ${err.column}: ${firstLine}`,
          { file: name, line: err.line, column: err.column },
        );
      }
      throw err;
    }
    if (!this.validate(data)) {
      const lines = keyLines(text);
      // `if` restates its `then`'s error; each item's miss of a `contains` restates the `contains` error.
      const errors = (this.validate.errors ?? []).filter(
        (e) => e.keyword !== 'if' && !e.schemaPath.includes('/contains/'),
      );
      const described = errors.map((e) => describe(e, lines));
      const [first] = described;
      throw new CallscreenError('CS_ERR_CONFIG_INVALID', `${name}: ${described.map((d) => d.text).join('; ')}`, {
        file: name,
        key: first?.key ?? null,
        line: first?.line ?? null,
        errors: described,
      });
    }
    const config = data;
    // Rules the schema cannot say (listen addresses, regexes, pairs): the same refusal at start,
    // on reload and in `config check`.
    const broken = checkConfigRules(config);
    if (broken.length > 0) {
      const lines = keyLines(text);
      const described = broken.map((b): Described => {
        const line = lines.get(b.key) ?? lines.get(b.key.split('.')[0] ?? '') ?? null;
        return { key: b.key, line, text: `${b.key}${line !== null ? ` (line ${line})` : ''} ${b.text}` };
      });
      const [first] = described;
      throw new CallscreenError('CS_ERR_CONFIG_INVALID', `${name}: ${described.map((d) => d.text).join('; ')}`, {
        file: name,
        key: first?.key ?? null,
        line: first?.line ?? null,
        errors: described,
      });
    }
    return deepFreeze(config);
  }
}

interface Described {
  readonly key: string;
  readonly line: number | null;
  readonly text: string;
}

function describe(e: ErrorObject, lines: ReadonlyMap<string, number>): Described {
  const base = e.instancePath.split('/').filter(Boolean).join('.');
  let key = base;
  let text: string;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      key = base ? `${base}.${extra}` : extra;
      text = base ? `unknown key "${extra}" in [${base}]` : `unknown section or key "${extra}"`;
      break;
    }
    case 'enum':
      text = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'type':
      text = `must be ${(e.params as { type: string }).type}`;
      break;
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      key = base ? `${base}.${missing}` : missing;
      text = 'must be set';
      break;
    }
    case 'contains': {
      // The schema's `contains` are `{ const: … }`: name the item that must be there.
      const item = (e.parentSchema as { contains?: { const?: unknown } } | undefined)?.contains?.const;
      text = item === undefined ? (e.message ?? e.keyword) : `must include ${JSON.stringify(item)}`;
      break;
    }
    case 'minLength':
      text = (e.params as { limit: number }).limit === 1 ? 'must not be empty' : (e.message ?? e.keyword);
      break;
    default:
      text = e.message ?? e.keyword;
  }
  // The schema's only conditionals are "when [section] enabled = true" (esl_inbound.password).
  const section = key.split('.')[0] ?? '';
  if (e.schemaPath.includes('/then/')) text += ` when ${section}.enabled = true`;
  const line = lines.get(key) ?? lines.get(base) ?? lines.get(section) ?? null;
  return { key, line, text: `${key || '(top level)'}${line !== null ? ` (line ${line})` : ''} ${text}` };
}

/** Maps `table.key` to the line it is written on (1-based), for error messages. */
export function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let table = '';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9_.\- "]+?)\s*\]$/.exec(line);
    if (header?.[1] !== undefined) {
      table = header[1]
        .replace(/"/g, '')
        .split('.')
        .map((s) => s.trim())
        .join('.');
      if (!out.has(table)) out.set(table, i + 1);
      return;
    }
    const kv = /^([A-Za-z0-9_\-."]+)\s*=/.exec(line);
    if (kv?.[1] !== undefined) {
      const key = kv[1].replace(/"/g, '');
      const full = table ? `${table}.${key}` : key;
      if (!out.has(full)) out.set(full, i + 1);
    }
  });
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** A copy of the config safe to print or log: secrets replaced. */
export function redactConfig(config: Config): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
  for (const path of SECRET_KEYS) {
    const [section, key] = path.split('.') as [string, string];
    const sec = copy[section];
    if (sec && typeof sec[key] === 'string' && sec[key] !== '') sec[key] = '[redacted]';
  }
  for (const path of SECRET_URL_KEYS) {
    const [section, key] = path.split('.') as [string, string];
    const sec = copy[section];
    if (sec && typeof sec[key] === 'string') sec[key] = redactUrl(sec[key]);
  }
  return copy;
}

/** `postgres://user:secret@host/db` → `postgres://user:[redacted]@host/db`; a url with no password is returned as is. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, '$1:[redacted]@');
}
