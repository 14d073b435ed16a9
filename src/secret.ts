/**
 * The server secret: HELPDESK_SECRET, or (embedded mode) one generated into the data dir.
 * It signs reply tokens and content URLs and encrypts stored IMAP passwords.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { config } from './config';

let cached: string | undefined;

/** The secret, generated into `$HELPDESK_DATA_DIR/secret` on first use when not configured. */
export function secret(): string {
  if (cached) return cached;
  const cfg = config();
  if (cfg.secret) return (cached = cfg.secret);
  const file = path.join(cfg.dataDir, 'secret');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cfg.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  cached = fs.readFileSync(file, 'utf8').trim();
  return cached;
}

/** A key for one purpose, derived from the secret so no two uses share a key. */
export function derivedKey(purpose: string): Buffer {
  return crypto.createHmac('sha256', secret()).update(purpose).digest();
}
