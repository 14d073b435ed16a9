/**
 * TLS settings for our connections to mail servers (IMAP and SMTP): the system's
 * certificate authorities, plus those of TLS_CA_FILE when set (a company CA, or a
 * self-signed server certificate pinned by its admin). Certificates are always verified.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import { config } from '../config';

let loaded: { file: string; ca: string[] } | undefined;

/** Options for `tls.connect` (imapflow's `tls`, nodemailer's `tls`). */
export function mailTlsOptions(): { ca?: string[]; rejectUnauthorized: true } {
  const file = config().tlsCaFile;
  if (!file) return { rejectUnauthorized: true };
  if (loaded?.file !== file) {
    const pem = fs.readFileSync(file, 'utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`TLS_CA_FILE ${file} holds no PEM certificate`);
    loaded = { file, ca: [...tls.rootCertificates, pem] };
  }
  return { ca: loaded.ca, rejectUnauthorized: true };
}
