/**
 * Emergency short numbers per region (ISO 3166-1 alpha-2). A protected number can never be blocked
 * and always gets through, whatever the list says. 112 and 911 are protected everywhere because
 * handsets and many networks route both regardless of the local number.
 */
const UNIVERSAL = ['112', '911'] as const;

const BY_REGION: Readonly<Record<string, readonly string[]>> = {
  US: ['911', '933'],
  CA: ['911'],
  MX: ['911', '065', '066'],
  PR: ['911'],
  GB: ['999', '112'],
  IE: ['999', '112'],
  DE: ['110', '112'],
  AT: ['112', '122', '133', '144'],
  CH: ['112', '117', '118', '144'],
  FR: ['15', '17', '18', '112', '114', '115', '119', '191', '196', '197'],
  BE: ['100', '101', '112'],
  NL: ['112'],
  LU: ['112', '113'],
  IT: ['112', '113', '115', '118'],
  ES: ['112', '091', '092', '061', '080'],
  PT: ['112'],
  DK: ['112', '114'],
  SE: ['112'],
  NO: ['110', '112', '113'],
  FI: ['112'],
  PL: ['112', '997', '998', '999'],
  CZ: ['112', '150', '155', '158'],
  GR: ['112', '100', '166', '199'],
  RO: ['112'],
  HU: ['112', '104', '105', '107'],
  AU: ['000', '112', '106'],
  NZ: ['111'],
  JP: ['110', '118', '119'],
  KR: ['112', '119'],
  CN: ['110', '119', '120', '122'],
  IN: ['100', '101', '102', '108', '112'],
  BR: ['190', '192', '193'],
  AR: ['911', '100', '101', '107'],
  ZA: ['10111', '10177', '112'],
  IL: ['100', '101', '102'],
  SG: ['995', '999'],
  HK: ['999', '112'],
  PH: ['911'],
};

export function emergencyNumbers(region: string): readonly string[] {
  const own = BY_REGION[region.toUpperCase()] ?? [];
  return [...new Set([...own, ...UNIVERSAL])];
}
