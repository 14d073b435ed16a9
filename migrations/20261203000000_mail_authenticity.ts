/**
 * Authenticity of inbound mail (issue 13). Per mailbox: `authenticity` (`off`, the
 * default: nothing is checked; `record`: each message's verdict is kept; `enforce`: and
 * acted on), where the verdict comes from (`auth_source`: the mailbox's own server's
 * topmost Authentication-Results, `trusted_header`, only when its authserv-id is
 * `authserv_id`; or `verify`, checked here with DNS), and that server's authserv-id, needed
 * for `trusted_header`. Per message: `inbound_emails.auth` (jsonb: SPF, DKIM, DMARC and ARC
 * results, their source, the summary; null when the mailbox's authenticity is off), and the
 * summary (`pass`, `fail`, `none`) on the ticket the message opened or the reply it became.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('mailboxes', (t) => {
    t.string('authenticity', 16).notNullable().defaultTo('off');
    t.string('auth_source', 16).notNullable().defaultTo('verify');
    t.string('authserv_id', 255);
    t.check(`authenticity in ('off', 'record', 'enforce')`, [], 'mailboxes_authenticity_check');
    t.check(`auth_source in ('trusted_header', 'verify')`, [], 'mailboxes_auth_source_check');
    t.check(`authenticity = 'off' or auth_source <> 'trusted_header' or authserv_id is not null`, [], 'mailboxes_authserv_id_check');
  });
  await knex.schema.alterTable('inbound_emails', (t) => {
    t.jsonb('auth');
  });
  for (const table of ['tickets', 'replies']) {
    await knex.schema.alterTable(table, (t) => {
      t.string('auth_summary', 8);
      t.check(`auth_summary in ('pass', 'fail', 'none')`, [], `${table}_auth_summary_check`);
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['replies', 'tickets']) {
    await knex.schema.alterTable(table, (t) => {
      t.dropChecks([`${table}_auth_summary_check`]);
      t.dropColumn('auth_summary');
    });
  }
  await knex.schema.alterTable('inbound_emails', (t) => {
    t.dropColumn('auth');
  });
  await knex.schema.alterTable('mailboxes', (t) => {
    t.dropChecks(['mailboxes_authserv_id_check', 'mailboxes_auth_source_check', 'mailboxes_authenticity_check']);
    t.dropColumn('authserv_id');
    t.dropColumn('auth_source');
    t.dropColumn('authenticity');
  });
}
