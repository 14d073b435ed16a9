/**
 * Points: time spent on a ticket turns into points by the config's rule (points per hour,
 * weighted by the ticket's priority), and a contract's `points_current` is always its
 * `points_total` minus the points of the tickets charged to it. Every change of time,
 * priority, billability or contract goes through `syncTicketPoints` in the caller's
 * transaction, so the contract moves by exactly the difference.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import type { Settings } from '../config/settings';
import { getSettings } from '../config/settings';

/** Points for `minutes` at priority `priorityId` under `settings`, to the hundredth. */
export function pointsFor(minutes: number, priorityId: number, settings: Settings): number {
  const weight = settings.points_priority_weights[String(priorityId)] ?? 1;
  return Math.round((minutes / 60) * settings.points_per_hour * weight * 100) / 100;
}

/**
 * The contract a customer's time is charged to at `at`: its own latest-started contract
 * whose period covers `at`, else such a contract shared with it.
 */
export async function activeContractId(trx: Knex, customerId: number, at: Date = now()): Promise<number | null> {
  const covering = (q: Knex.QueryBuilder) =>
    q
      .where((w) => w.whereNull('c.started_at').orWhere('c.started_at', '<=', at))
      .where((w) => w.whereNull('c.expires_at').orWhere('c.expires_at', '>', at))
      .orderByRaw('c.started_at desc nulls last, c.id desc')
      .first('c.id');
  const own = await covering(trx('support_contracts as c').where('c.support_contracteable_id', customerId));
  if (own) return own.id;
  const shared = await covering(
    trx('support_contracts as c').join('shared_support_contracts as s', 's.support_contract_id', 'c.id').where('s.customer_id', customerId),
  );
  return shared?.id ?? null;
}

/** Sets `points_current` to the total minus what the contract's tickets consumed. */
export async function refreshContractPoints(trx: Knex, contractId: number): Promise<void> {
  await trx.raw(
    `update support_contracts c
        set points_current = c.points_total - coalesce((select sum(t.points) from tickets t where t.contract_id = c.id), 0),
            updated_at = ?
      where c.id = ?`,
    [now(), contractId],
  );
}

/**
 * Recomputes a ticket's time and points from its segments and charges the difference to
 * its contract (its `contract_id`, else the customer's active or shared contract, which
 * then becomes its `contract_id`). `previousContractId` is refreshed too when the caller
 * just moved the ticket off it.
 */
export async function syncTicketPoints(trx: Knex, ticketId: number, previousContractId?: number | null): Promise<void> {
  const ticket = await trx('tickets').where({ id: ticketId }).forUpdate().first();
  if (!ticket) return;
  const [sums] = await trx('time_segments')
    .where({ ticket_id: ticketId })
    .select(trx.raw('coalesce(sum(minutes), 0)::int as minutes'), trx.raw('coalesce(sum(minutes) filter (where billable), 0)::int as billable_minutes'));
  const settings = await getSettings(trx);
  const points = ticket.billable ? pointsFor(sums.billable_minutes, ticket.priority_id, settings) : 0;
  let contractId: number | null = ticket.contract_id;
  if (contractId === null && points !== 0) contractId = await activeContractId(trx, ticket.ticketable_id);
  await trx('tickets').where({ id: ticketId }).update({ time: sums.minutes, points, contract_id: contractId, updated_at: now() });
  for (const id of new Set([contractId, previousContractId, ticket.contract_id])) {
    if (id) await refreshContractPoints(trx, id);
  }
}
