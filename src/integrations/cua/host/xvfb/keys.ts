/** Splitting a `key` argument ("ctrl+a Delete") into combos, before any name is resolved. */
import { ComputerError } from '../../shared/computer.js';

/** Splits on whitespace into combos; refuses empty input, empty parts ("ctrl++") and NUL. */
export function parseKeys(keys: string): string[] {
  if (typeof keys !== 'string') throw new ComputerError('BAD_ARGUMENT', 'keys must be a string');
  const combos = keys.trim().split(/\s+/).filter((c) => c.length > 0);
  if (combos.length === 0) throw new ComputerError('BAD_ARGUMENT', 'no key given');
  for (const combo of combos) {
    if (combo.includes('\0') || combo.split('+').some((part) => part.length === 0)) {
      throw new ComputerError('BAD_ARGUMENT', `malformed key combo ${JSON.stringify(combo)}`);
    }
  }
  return combos;
}
