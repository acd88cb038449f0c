/**
 * Structured logs (pino) to stderr only — stdout belongs to MCP in stdio mode. Writes are
 * synchronous so nothing is lost when the process exits right after a fatal line.
 *
 * Session ids are bearer-like secrets: logs carry `fingerprint(id)`, never the id itself.
 */
import { createHash } from 'node:crypto';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: known secret-bearing fields are never printed even if a caller passes them.
      redact: {
        paths: ['sessionId', '*.sessionId', 'secret', '*.secret', 'apiKey', '*.apiKey', 'password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A short, stable, non-reversible name for a session id, safe to log and show. */
export function fingerprint(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}
