/**
 * The core data model: people, customers, tickets and replies, the ticketing reference
 * data, contracts, time, config, blobs and attachments, the outbox and the Message-IDs
 * used for threading. Later issues add tables with their own migrations.
 */
import type { Knex } from 'knex';

const CUSTOMER = 'App\\Customer';

function timestamps(t: Knex.CreateTableBuilder, knex: Knex): void {
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create extension if not exists pg_trgm');

  await knex.schema.createTable('users', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.string('email', 320).notNullable();
    t.specificType('alternate_emails', 'text[]').notNullable().defaultTo('{}');
    t.string('role', 16).notNullable().defaultTo('agent');
    t.boolean('active').notNullable().defaultTo(true);
    timestamps(t, knex);
    t.check(`role in ('admin', 'agent')`, [], 'users_role_check');
  });
  await knex.raw('create unique index users_email_unique on users (lower(email))');
  await knex.raw('create index users_alternate_emails_index on users using gin (alternate_emails)');

  await knex.schema.createTable('api_tokens', (t) => {
    t.increments('id');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.string('selector', 32).notNullable().unique();
    t.string('verifier_hash', 64).notNullable();
    t.string('name', 255);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index('user_id');
  });

  await knex.schema.createTable('customers', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.specificType('email_domains', 'text[]').notNullable().defaultTo('{}');
    timestamps(t, knex);
  });
  await knex.raw('create index customers_email_domains_index on customers using gin (email_domains)');

  await knex.schema.createTable('contacts', (t) => {
    t.increments('id');
    t.string('contactable_type', 64).notNullable().defaultTo(CUSTOMER);
    t.integer('contactable_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.string('name', 255).notNullable();
    t.string('email', 320).notNullable();
    timestamps(t, knex);
    t.index('contactable_id');
    t.check(`contactable_type = '${CUSTOMER}'`, [], 'contacts_contactable_type_check');
  });
  await knex.raw('create unique index contacts_email_unique on contacts (lower(email))');
  await knex.raw('create index contacts_email_trgm on contacts using gin (email gin_trgm_ops)');

  await knex.schema.createTable('priorities', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.integer('level').notNullable();
    t.string('color', 16);
  });

  await knex.schema.createTable('ticket_statuses', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.string('color', 16);
    t.string('auto_for', 32).unique();
    t.integer('position').notNullable().defaultTo(0);
    timestamps(t, knex);
    t.check(`auto_for in ('default', 'on_admin_reply', 'on_customer_reply')`, [], 'ticket_statuses_auto_for_check');
  });

  await knex.schema.createTable('ticket_categories', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.text('description');
    timestamps(t, knex);
  });

  await knex.schema.createTable('ticket_sub_categories', (t) => {
    t.increments('id');
    t.integer('ticket_category_id').notNullable().references('ticket_categories.id').onDelete('RESTRICT');
    t.string('name', 255).notNullable();
    t.integer('priority_id').references('priorities.id').onDelete('SET NULL');
    timestamps(t, knex);
    t.index('ticket_category_id');
  });

  await knex.schema.createTable('support_teams', (t) => {
    t.increments('id');
    t.string('name', 255).notNullable();
    t.string('email', 320);
    timestamps(t, knex);
  });

  await knex.schema.createTable('support_team_members', (t) => {
    t.integer('support_team_id').notNullable().references('support_teams.id').onDelete('CASCADE');
    t.integer('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.primary(['support_team_id', 'user_id']);
    t.index('user_id');
  });

  await knex.schema.createTable('support_contracts', (t) => {
    t.increments('id');
    t.string('support_contracteable_type', 64).notNullable().defaultTo(CUSTOMER);
    t.integer('support_contracteable_id').notNullable().references('customers.id').onDelete('CASCADE');
    t.integer('type').notNullable().defaultTo(1);
    for (const c of ['points_total', 'points_init', 'points_init_memory', 'points_current', 'points_alert', 'points_auto_renew', 'points_auto_added']) {
      t.decimal(c, 12, 2).notNullable().defaultTo(0);
    }
    t.date('signed_at');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('last_notified_at', { useTz: true });
    timestamps(t, knex);
    t.index(['support_contracteable_type', 'support_contracteable_id']);
    t.check('type between 1 and 6', [], 'support_contracts_type_check');
  });

  await knex.schema.createTable('tickets', (t) => {
    t.increments('id');
    t.string('number', 6).notNullable().unique();
    t.text('subject').notNullable();
    t.text('body').notNullable();
    t.string('ticketable_type', 64).notNullable().defaultTo(CUSTOMER);
    t.integer('ticketable_id').notNullable().references('customers.id').onDelete('RESTRICT');
    t.integer('priority_id').notNullable().references('priorities.id').onDelete('RESTRICT');
    t.integer('ticket_category_id').notNullable().references('ticket_categories.id').onDelete('RESTRICT');
    t.integer('ticket_sub_category_id').notNullable().references('ticket_sub_categories.id').onDelete('RESTRICT');
    t.integer('status_id').references('ticket_statuses.id').onDelete('SET NULL');
    t.integer('team_id').references('support_teams.id').onDelete('SET NULL');
    t.integer('contract_id').references('support_contracts.id').onDelete('SET NULL');
    t.integer('assignee_id').references('users.id').onDelete('SET NULL');
    t.integer('assigned_by').references('users.id').onDelete('SET NULL');
    t.string('author_type', 64).notNullable();
    t.integer('author_id');
    t.integer('opener_id').references('users.id').onDelete('SET NULL');
    t.integer('contact_id').references('contacts.id').onDelete('SET NULL');
    t.boolean('open').notNullable().defaultTo(true);
    t.boolean('closure').notNullable().defaultTo(false);
    t.timestamp('closure_requested_at', { useTz: true });
    t.string('origin', 32).notNullable();
    t.string('opened_via', 32).notNullable();
    t.timestamp('estimated_resolution_date', { useTz: true });
    t.specificType('tags', 'text[]').notNullable().defaultTo('{}');
    t.integer('exchanges').notNullable().defaultTo(0);
    t.integer('time').notNullable().defaultTo(0);
    t.decimal('points', 12, 2).notNullable().defaultTo(0);
    t.boolean('billable').notNullable().defaultTo(true);
    t.boolean('billed').notNullable().defaultTo(false);
    t.timestamp('opened_at', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('assigned_at', { useTz: true });
    t.specificType('auto_closure_alerts', 'timestamptz[]').notNullable().defaultTo('{}');
    timestamps(t, knex);
    t.index(['ticketable_type', 'ticketable_id']);
    t.index('assignee_id');
    t.index('status_id');
    t.index('priority_id');
    t.index('team_id');
    t.index('contract_id');
    t.index('created_at');
    t.check(`number ~ '^[A-HJKMNP-Z2-9]{6}$'`, [], 'tickets_number_check');
    t.check(`author_type in ('App\\User', 'App\\Contact')`, [], 'tickets_author_type_check');
    t.check(`ticketable_type = 'App\\Customer'`, [], 'tickets_ticketable_type_check');
  });
  await knex.raw('create index tickets_open_id_index on tickets (open, id desc)');
  await knex.raw('create index tickets_number_trgm on tickets using gin (number gin_trgm_ops)');
  await knex.raw('create index tickets_body_trgm on tickets using gin (body gin_trgm_ops)');

  await knex.schema.createTable('ticket_contacts', (t) => {
    t.integer('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.integer('contact_id').notNullable().references('contacts.id').onDelete('CASCADE');
    t.primary(['ticket_id', 'contact_id']);
    t.index('contact_id');
  });

  await knex.schema.createTable('replies', (t) => {
    t.increments('id');
    t.integer('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.text('body').notNullable();
    t.string('origin', 32).notNullable();
    t.string('author_type', 64).notNullable();
    t.integer('author_id');
    t.integer('contact_id').references('contacts.id').onDelete('SET NULL');
    t.timestamp('seen_at', { useTz: true });
    t.boolean('customer_visible').notNullable().defaultTo(false);
    t.boolean('copy_to_sales').notNullable().defaultTo(false);
    t.boolean('auto_closure_message').notNullable().defaultTo(false);
    timestamps(t, knex);
    t.index(['ticket_id', 'id']);
    t.check(`author_type in ('App\\User', 'App\\Contact')`, [], 'replies_author_type_check');
  });

  await knex.schema.createTable('time_segments', (t) => {
    t.increments('id');
    t.integer('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.integer('user_id').references('users.id').onDelete('SET NULL');
    t.string('kind', 16).notNullable().defaultTo('manual');
    t.timestamp('started_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    t.integer('minutes').notNullable().defaultTo(0);
    t.boolean('billable').notNullable().defaultTo(true);
    t.text('note');
    timestamps(t, knex);
    t.index('ticket_id');
    t.check(`kind in ('tracked', 'manual', 'amend', 'invoicing')`, [], 'time_segments_kind_check');
  });
  await knex.raw(
    `create unique index time_segments_one_running_timer on time_segments (user_id)
     where kind = 'tracked' and ended_at is null`,
  );

  await knex.schema.createTable('config', (t) => {
    t.string('key', 64).primary();
    t.jsonb('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('blobs', (t) => {
    t.string('sha256', 64).primary();
    t.bigInteger('size').notNullable();
    t.string('storage', 16).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check(`storage in ('database', 'filesystem')`, [], 'blobs_storage_check');
  });

  await knex.schema.createTable('blob_chunks', (t) => {
    t.string('sha256', 64).notNullable().references('blobs.sha256').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.binary('data').notNullable();
    t.primary(['sha256', 'seq']);
  });

  await knex.schema.createTable('attachments', (t) => {
    t.increments('id');
    t.string('blob_sha256', 64).notNullable().references('blobs.sha256').onDelete('RESTRICT');
    t.string('filename', 255).notNullable();
    t.string('declared_type', 255);
    t.string('sniffed_type', 255);
    t.bigInteger('size').notNullable();
    t.string('content_id', 255);
    t.boolean('inline').notNullable().defaultTo(false);
    t.integer('ticket_id').references('tickets.id').onDelete('CASCADE');
    t.integer('reply_id').references('replies.id').onDelete('CASCADE');
    timestamps(t, knex);
    t.index('ticket_id');
    t.index('reply_id');
    t.index('blob_sha256');
  });

  await knex.schema.createTable('outbound_emails', (t) => {
    t.increments('id');
    t.string('message_id', 255).notNullable().unique();
    t.integer('ticket_id').references('tickets.id').onDelete('SET NULL');
    t.integer('reply_id').references('replies.id').onDelete('SET NULL');
    t.integer('recipient_user_id').references('users.id').onDelete('SET NULL');
    t.string('template', 64).notNullable();
    t.jsonb('data').notNullable().defaultTo('{}');
    t.jsonb('to_addresses').notNullable();
    t.jsonb('cc_addresses').notNullable().defaultTo('[]');
    t.text('subject');
    t.string('in_reply_to', 998);
    t.text('references');
    t.boolean('automatic').notNullable().defaultTo(true);
    t.string('state', 16).notNullable().defaultTo('queued');
    t.string('suppressed_reason', 255);
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true });
    t.text('last_error');
    t.timestamp('sent_at', { useTz: true });
    timestamps(t, knex);
    t.index('ticket_id');
    t.check(`state in ('queued', 'sent', 'failed', 'bounced', 'suppressed')`, [], 'outbound_emails_state_check');
  });
  await knex.raw(`create index outbound_emails_due_index on outbound_emails (next_attempt_at) where state = 'queued'`);

  await knex.schema.createTable('ticket_message_ids', (t) => {
    t.increments('id');
    t.string('message_id', 998).notNullable();
    t.integer('ticket_id').notNullable().references('tickets.id').onDelete('CASCADE');
    t.integer('reply_id').references('replies.id').onDelete('CASCADE');
    t.integer('outbound_email_id').references('outbound_emails.id').onDelete('SET NULL');
    t.string('direction', 3).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['message_id', 'ticket_id']);
    t.index('ticket_id');
    t.check(`direction in ('in', 'out')`, [], 'ticket_message_ids_direction_check');
  });

  await seedReferenceData(knex);
}

async function seedReferenceData(knex: Knex): Promise<void> {
  await knex('priorities').insert([
    { name: 'Low', level: 1, color: '#6b7280' },
    { name: 'Normal', level: 2, color: '#2563eb' },
    { name: 'High', level: 3, color: '#d97706' },
    { name: 'Urgent', level: 4, color: '#dc2626' },
  ]);
  await knex('ticket_statuses').insert([
    { name: 'New', color: '#2563eb', auto_for: 'default', position: 1 },
    { name: 'Waiting for customer', color: '#d97706', auto_for: 'on_admin_reply', position: 2 },
    { name: 'Customer replied', color: '#dc2626', auto_for: 'on_customer_reply', position: 3 },
    { name: 'In progress', color: '#16a34a', auto_for: null, position: 4 },
  ]);
  const [category] = await knex('ticket_categories').insert({ name: 'General', description: 'Everything not filed elsewhere' }).returning('id');
  const normal = await knex('priorities').where({ name: 'Normal' }).first('id');
  await knex('ticket_sub_categories').insert({
    ticket_category_id: category.id,
    name: 'General',
    priority_id: normal.id,
  });
  const defaults: Record<string, unknown> = {
    timezone: 'UTC',
    points_per_hour: 1,
    points_priority_weights: {},
    closure_delay_hours: 48,
    auto_closure_enabled: true,
    auto_closure_delay_days: 7,
    auto_closure_reminders: 2,
    reopen_window_days: 30,
    team_report_emails: [],
    points_alert_emails: [],
    auto_acknowledge: false,
  };
  await knex('config').insert(Object.entries(defaults).map(([key, value]) => ({ key, value: JSON.stringify(value) })));
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'ticket_message_ids',
    'outbound_emails',
    'attachments',
    'blob_chunks',
    'blobs',
    'config',
    'time_segments',
    'replies',
    'ticket_contacts',
    'tickets',
    'support_contracts',
    'support_team_members',
    'support_teams',
    'ticket_sub_categories',
    'ticket_categories',
    'ticket_statuses',
    'priorities',
    'contacts',
    'customers',
    'api_tokens',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
