/**
 * `GET /v1/tickets-insights` and its parts (issue 12). Each figure's unit and computation
 * is shown in the document from its one definition (services/insights/figures.ts).
 */
import type Router from '@koa/router';
import { AVERAGE_FIGURES, COUNT_FIGURES, DIMENSIONS, type Figure, HISTORY_FIGURES, SELECTION_RULE, TICKET_FACTS } from '../../../services/insights/figures';
import { type InsightsPart, MAX_RANGE_YEARS, ticketInsights } from '../../../services/insights/insights';
import { route } from '../../route';
import { fullInsightsQuery, insightsQuery } from './schema';

const tag = 'Ticket insights';

function table(title: string, rows: readonly Pick<Figure, 'name' | 'unit' | 'description'>[], sql = true): string {
  const lines = rows.map(
    (f) => `| \`${f.name}\` | ${f.unit} | ${f.description}${sql && 'sql' in f ? ` SQL: \`${String(f.sql).replace(/\s+/g, ' ')}\`` : ''} |`,
  );
  return [`**${title}**`, '', '| field | unit | how it is computed |', '|---|---|---|', ...lines].join('\n');
}

const COMMON =
  `${SELECTION_RULE} A range spans less than ${MAX_RANGE_YEARS} years; \`from\` after \`to\`, a longer range, or an ` +
  'unknown `team_id`, `customer_id` or `assignee_id` is a 400 naming the field. Every answer starts with `range` ' +
  '(`from`, `to`, `timezone`) and `filters`. An empty range gives zeros, empty lists and nulls.';

const FACTS = [
  '**per selected ticket** (the rows `f` the SQL below aggregates: its own columns, and these)',
  '',
  ...TICKET_FACTS.map((fact) => `- \`f.${fact.name}\`: ${fact.description} SQL: \`${fact.sql.replace(/\s+/g, ' ')}\``),
].join('\n');

const AGGREGATIONS = table('aggregations', [
  ...COUNT_FIGURES,
  ...DIMENSIONS.map((d) => ({
    name: d.name,
    unit: 'tickets' as const,
    description: `${d.description} A list of ${d.table ? '`{id, name, count}`' : `\`{${d.key}, count}\``}, largest first.`,
  })),
]);
const AVERAGES = table('averages (`total`: the tickets averaged over)', [COUNT_FIGURES[0]!, ...AVERAGE_FIGURES]);
const YEARLY =
  '**yearly_averages**: one entry per calendar year of the time zone that the range touches, empty years included: ' +
  '`year`, `from` and `to` (the part of the range in that year), and the averages above, over the tickets opened that year.';
const HISTORY = table(
  'history (`{interval, buckets}`; each bucket `{start, end, opened, closed}`, every bucket of the range present, the first and last clipped to it)',
  HISTORY_FIGURES.map((h) => ({ ...h, description: `${h.description} SQL moment: \`${h.at}\`.` })),
  false,
);

const PARTS: { path: string; summary: string; parts: InsightsPart[]; doc: string[] }[] = [
  {
    path: '/aggregations',
    summary: 'Ticket counts: open, closed, total, per status, priority, category, team, assignee and origin',
    parts: ['aggregations'],
    doc: [AGGREGATIONS],
  },
  {
    path: '/averages',
    summary: 'Average first response and resolution times, exchanges, minutes, points and the share reopened',
    parts: ['averages'],
    doc: [AVERAGES],
  },
  { path: '/yearly-averages', summary: 'The averages per calendar year', parts: ['yearly_averages'], doc: [YEARLY, AVERAGES] },
];

export function registerInsightsRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/tickets-insights',
    tag,
    summary: 'Full ticket insights: aggregations, averages, yearly averages and the history of openings and closings',
    description: [COMMON, FACTS, AGGREGATIONS, AVERAGES, YEARLY, HISTORY].join('\n\n'),
    returns: '`{range, filters, aggregations, averages, yearly_averages, history}`',
    query: fullInsightsQuery,
    handler: async ({ query }) => ticketInsights(query, ['aggregations', 'averages', 'yearly_averages', 'history']),
  });
  for (const part of PARTS) {
    route(router, {
      method: 'get',
      path: `/v1/tickets-insights${part.path}`,
      tag,
      summary: part.summary,
      description: [COMMON, FACTS, ...part.doc].join('\n\n'),
      returns: `\`{range, filters, ${part.parts.join(', ')}}\``,
      query: insightsQuery,
      handler: async ({ query }) => ticketInsights(query, part.parts),
    });
  }
}
