/**
 * Raw mail retention (RAW_MAIL_KEEP_DAYS): the original of an old message whose ticket is
 * closed may be removed while its `inbound_emails` row stays (the record of what became of
 * it, and the Message-ID that keeps a late copy from becoming a new ticket). `raw_sha256`
 * becomes nullable; `raw_removed_at` and `raw_kept_days` say when and under which setting,
 * so `GET .../raw` can answer 410 with that. Exactly one of the hash and the removal time is
 * set. The partial indexes serve the retention job, which looks only at rows still holding
 * their raw message, and the question "does any row still use this blob?" (releaseBlob,
 * the blob sweep, and the foreign key's own check when a blob row is deleted), which
 * otherwise reads the whole table once per blob.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('inbound_emails', (t) => {
    t.setNullable('raw_sha256');
    t.timestamp('raw_removed_at', { useTz: true });
    t.integer('raw_kept_days');
    t.check('(raw_sha256 is null) = (raw_removed_at is not null)', [], 'inbound_emails_raw_removed_check');
  });
  await knex.raw('create index inbound_emails_raw_kept_index on inbound_emails (received_at) where raw_sha256 is not null');
  await knex.raw('create index inbound_emails_raw_sha256_index on inbound_emails (raw_sha256) where raw_sha256 is not null');
}

export async function down(knex: Knex): Promise<void> {
  const removed = await knex('inbound_emails').whereNull('raw_sha256').count({ n: '*' });
  if (Number(removed[0]!.n) > 0) {
    throw new Error(
      `cannot roll back: ${removed[0]!.n} inbound emails had their raw message removed (RAW_MAIL_KEEP_DAYS), and raw_sha256 cannot be made required again`,
    );
  }
  await knex.raw('drop index if exists inbound_emails_raw_sha256_index');
  await knex.raw('drop index if exists inbound_emails_raw_kept_index');
  await knex.schema.alterTable('inbound_emails', (t) => {
    t.dropChecks(['inbound_emails_raw_removed_check']);
    t.dropColumn('raw_kept_days');
    t.dropColumn('raw_removed_at');
    t.dropNullable('raw_sha256');
  });
}
