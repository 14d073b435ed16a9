import { Model } from 'objection';
import { BaseModel } from './BaseModel';
import type { AuthSummary } from './InboundEmail';

/** A support ticket; `ticketable` is always a customer (`App\Customer`). */
export class Ticket extends BaseModel {
  static override tableName = 'tickets';

  declare id: number;
  declare number: string;
  declare subject: string;
  declare body: string;
  declare ticketable_type: string;
  declare ticketable_id: number;
  declare priority_id: number;
  declare ticket_category_id: number;
  declare ticket_sub_category_id: number;
  declare status_id: number | null;
  declare team_id: number | null;
  declare contract_id: number | null;
  declare assignee_id: number | null;
  declare assigned_by: number | null;
  declare author_type: string;
  declare author_id: number | null;
  declare opener_id: number | null;
  declare contact_id: number | null;
  declare open: boolean;
  declare closure: boolean;
  declare closure_requested_at: Date | null;
  declare origin: string;
  declare opened_via: string;
  declare estimated_resolution_date: Date | null;
  declare tags: string[];
  declare exchanges: number;
  /** Times a closed ticket was opened again (counted from issue 12 on). */
  declare reopen_count: number;
  /** The authenticity verdict of the mail that opened it (see InboundEmail.auth); null otherwise. */
  declare auth_summary: AuthSummary | null;
  declare time: number;
  declare points: number;
  declare billable: boolean;
  declare billed: boolean;
  declare opened_at: Date | null;
  declare closed_at: Date | null;
  declare assigned_at: Date | null;
  declare auto_closure_alerts: Date[];
  declare flags: string[];
  declare mailbox_id: number | null;
  declare previous_ticket_id: number | null;
  declare created_at: Date;
  declare updated_at: Date;

  static override relationMappings = () => ({
    ticketable: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./Customer').Customer,
      join: { from: 'tickets.ticketable_id', to: 'customers.id' },
    },
    customer: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./Customer').Customer,
      join: { from: 'tickets.ticketable_id', to: 'customers.id' },
    },
    replies: {
      relation: Model.HasManyRelation,
      modelClass: require('./Reply').Reply,
      join: { from: 'tickets.id', to: 'replies.ticket_id' },
      modify: (qb: import('objection').QueryBuilder<Model>) => qb.orderBy('replies.id'),
    },
    contacts: {
      relation: Model.ManyToManyRelation,
      modelClass: require('./Contact').Contact,
      join: {
        from: 'tickets.id',
        through: { from: 'ticket_contacts.ticket_id', to: 'ticket_contacts.contact_id' },
        to: 'contacts.id',
      },
      modify: (qb: import('objection').QueryBuilder<Model>) => qb.orderBy('contacts.id'),
    },
    category: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./TicketCategory').TicketCategory,
      join: { from: 'tickets.ticket_category_id', to: 'ticket_categories.id' },
    },
    sub_category: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./TicketSubCategory').TicketSubCategory,
      join: { from: 'tickets.ticket_sub_category_id', to: 'ticket_sub_categories.id' },
    },
    assignee: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./User').User,
      join: { from: 'tickets.assignee_id', to: 'users.id' },
      modify: 'summary',
    },
    assigner: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./User').User,
      join: { from: 'tickets.assigned_by', to: 'users.id' },
      modify: 'summary',
    },
    opener: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./User').User,
      join: { from: 'tickets.opener_id', to: 'users.id' },
      modify: 'summary',
    },
    team: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./SupportTeam').SupportTeam,
      join: { from: 'tickets.team_id', to: 'support_teams.id' },
    },
    contract: {
      relation: Model.BelongsToOneRelation,
      modelClass: require('./SupportContract').SupportContract,
      join: { from: 'tickets.contract_id', to: 'support_contracts.id' },
    },
    attachments: {
      relation: Model.HasManyRelation,
      modelClass: require('./Attachment').Attachment,
      join: { from: 'tickets.id', to: 'attachments.ticket_id' },
      modify: (qb: import('objection').QueryBuilder<Model>) => qb.orderBy('attachments.id'),
    },
  });
}
