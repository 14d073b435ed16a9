/**
 * The ticketing config (`/v1/ticketing/config`): typed keys with defaults, stored as rows of
 * the `config` table. Readers get every key, a stored value or its default.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import { now } from '../../clock';
import { isTimeZone } from '../../datetime';
import { cached, invalidate } from '../../cache';
import { conn } from '../../db/transaction';
import { logger } from '../../logger';

const emails = z.array(z.email()).max(100);

/** Every config key with its type and default. */
export const settingsSchema = z.object({
  timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Paris').default('UTC'),
  points_per_hour: z.number().min(0).default(1),
  points_priority_weights: z.record(z.string().regex(/^\d+$/), z.number().min(0)).default({}),
  closure_delay_hours: z
    .number()
    .int()
    .min(0)
    .max(24 * 365)
    .default(48),
  auto_closure_enabled: z.boolean().default(true),
  auto_closure_delay_days: z.number().int().min(1).max(365).default(7),
  auto_closure_reminders: z.number().int().min(0).max(20).default(2),
  reopen_window_days: z.number().int().min(0).max(3650).default(30),
  team_report_emails: emails.default([]),
  points_alert_emails: emails.default([]),
  auto_acknowledge: z.boolean().default(false),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Every setting, stored or default. */
export async function getSettings(trx?: Knex): Promise<Settings> {
  return cached('settings', () => loadSettings(trx));
}

/**
 * Each stored value is checked on its own: one that is no longer valid (written by hand,
 * or by an older version with other rules) is reported and that key alone falls back to
 * its default; the other settings keep their stored values.
 */
async function loadSettings(trx?: Knex): Promise<Settings> {
  const rows: { key: string; value: unknown }[] = await conn(trx)('config').select('key', 'value');
  const valid: Record<string, unknown> = {};
  for (const { key, value } of rows) {
    const field = settingsSchema.shape[key as keyof Settings];
    if (!field) continue;
    const parsed = field.safeParse(value);
    if (parsed.success) valid[key] = parsed.data;
    else logger.warn({ key, problem: parsed.error.issues[0]?.message }, 'a stored setting is invalid; it falls back to its default');
  }
  return settingsSchema.parse(valid);
}

/** Stores the given settings (already validated) and returns them all. */
export async function updateSettings(patch: Partial<Settings>, trx?: Knex): Promise<Settings> {
  const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
  if (entries.length) {
    await conn(trx)('config')
      .insert(entries.map(([key, value]) => ({ key, value: JSON.stringify(value), updated_at: now() })))
      .onConflict('key')
      .merge();
  }
  invalidate('settings');
  return loadSettings(trx);
}
