import type Router from '@koa/router';
import { showCustomer } from '../../../services/customers/customers';
import { markRepliesRead } from '../../../services/replies/listReplies';
import { updateAssociates } from '../../../services/tickets/associates';
import { countTickets } from '../../../services/tickets/countTickets';
import { createTicket } from '../../../services/tickets/createTicket';
import { exportTickets } from '../../../services/tickets/exportTickets';
import { createInvoicingTicket } from '../../../services/tickets/invoicing';
import { assignTicket, closeTicket, deleteTicket, freeTicket, openTicket, reopenTicket } from '../../../services/tickets/lifecycle';
import { listTickets, searchTickets } from '../../../services/tickets/listTickets';
import { loadTicket } from '../../../services/tickets/loadTicket';
import { ticketDetail } from '../../../services/tickets/ticketDetail';
import { amendTime } from '../../../services/tickets/ticketTime';
import { updateTicket } from '../../../services/tickets/updateTicket';
import { XLSX_CONTENT_TYPE } from '../../../rendering/xlsx';
import { pagedBody } from '../../pagination';
import { route } from '../../route';
import { pathId } from '../../validation';
import { contentDisposition } from '../attachments/presenter';
import { presentCustomer } from '../customers/presenter';
import { presentUser } from '../users/presenter';
import { presentListedTicket, presentTicket, presentTicketDetail } from './presenter';
import * as s from './schema';

const tag = 'Tickets';

/** Every ticket route, in the order they must match (fixed paths before `/:id`). */
export function registerTicketRoutes(router: Router): void {
  registerTicketListRoutes(router);
  registerTicketActionRoutes(router);
  registerTicketResourceRoutes(router);
}

/** Searching, counting and creating tickets. */
function registerTicketListRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/tickets',
    tag,
    summary: 'Open tickets, newest first (all of one customer with ticketable_type and ticketable_id)',
    query: s.ticketListQuery,
    handler: async ({ query, ctx }) => {
      const page = await listTickets({ ticketable_type: query.ticketable_type, ticketable_id: query.ticketable_id, page: query });
      return pagedBody(ctx, page, presentListedTicket);
    },
  });

  route(router, {
    method: 'post',
    path: '/v1/tickets',
    tag,
    status: 201,
    errors: [404],
    summary: 'Create a ticket; the caller is its author, assignee and opener',
    query: s.ticketableQuery,
    body: s.createBody,
    handler: async ({ query, body, actor }) => {
      const ticket = await createTicket({
        ...body,
        ticketable_type: query.ticketable_type,
        ticketable_id: query.ticketable_id,
        author: { type: 'App\\User', id: actor.id },
        openerId: actor.id,
        origin: 'admin',
        opened_via: 'application',
      });
      return presentTicket(ticket);
    },
  });

  route(router, {
    method: 'get',
    path: '/v1/tickets/counts',
    tag,
    summary: 'Ticket counts: total, open, unassigned, mine, today, this week, closed',
    handler: async ({ actor }) => countTickets({ actorId: actor.id }),
  });

  route(router, {
    method: 'get',
    path: '/v1/tickets/search',
    tag,
    summary: 'Search and filter tickets',
    description: 'filter[open]=true keeps open tickets, filter[closed]=true closed ones; false applies no scope.',
    query: s.searchQuery,
    handler: async ({ query, actor, ctx }) => {
      const page = await searchTickets({
        filters: {
          number: query['filter[number]'],
          email: query['filter[email]'],
          body: query['filter[body]'],
          ticketable_type: query['filter[ticketable_type]'],
          ticketable_id: query['filter[ticketable_id]'],
          assignee_id: query['filter[assignee_id]'],
          status_id: query['filter[status_id]'],
          priority_id: query['filter[priority_id]'],
          team_id: query['filter[team_id]'],
          open: query['filter[open]'],
          closed: query['filter[closed]'],
          my_tickets: query['filter[my_tickets]'],
          my_teams_tickets: query['filter[my_teams_tickets]'],
        },
        include: query.include,
        actorId: actor.id,
        page: query,
      });
      return pagedBody(ctx, page, presentListedTicket);
    },
  });
}

/** Invoicing, assigning, closing, opening, amending and exporting: paths before `/:id`. */
function registerTicketActionRoutes(router: Router): void {
  registerTicketAssignRoutes(router);
  registerTicketOpenRoutes(router);
}

/** Invoicing, assigning, freeing and closing. */
function registerTicketAssignRoutes(router: Router): void {
  route(router, {
    method: 'post',
    path: '/v1/tickets/invoicing',
    tag,
    status: 201,
    errors: [404],
    summary: 'Create a closed billing ticket recording time spent',
    query: s.ticketableQuery,
    body: s.invoicingBody,
    handler: async ({ query, body, actor }) => {
      const ticket = await createInvoicingTicket({ ...query, ...body, actorId: actor.id });
      return { response: 'ticket created', ticket: presentTicket(ticket) };
    },
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/assign/:id',
    tag,
    status: 201,
    summary: 'Assign a ticket to a user; answers with the assignee',
    body: s.assignBody,
    handler: async ({ params, body, actor }) =>
      presentUser(await assignTicket({ id: pathId(params.id, 'ticket'), assigneeId: body.assignee_id, actorId: actor.id })),
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/free/:id',
    tag,
    status: 201,
    summary: 'Remove the assignee',
    handler: async ({ params }) => {
      await freeTicket(pathId(params.id, 'ticket'));
      return { response: 'ticket freed' };
    },
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/close/:id',
    tag,
    status: 201,
    summary: 'Close a ticket',
    handler: async ({ params }) => {
      await closeTicket(pathId(params.id, 'ticket'));
      return { response: 'ticket closed' };
    },
  });
}

/** Opening, reopening, amending and exporting. */
function registerTicketOpenRoutes(router: Router): void {
  route(router, {
    method: 'put',
    path: '/v1/tickets/open/:id',
    tag,
    status: 201,
    summary: 'Open a ticket; with a pending closure, cancels it and answers as reopen does',
    handler: async ({ params }) => {
      const { ticket, wasPendingClosure } = await openTicket(pathId(params.id, 'ticket'));
      return wasPendingClosure ? presentTicket(ticket) : { response: 'ticket open' };
    },
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/reopen/:id',
    tag,
    status: 201,
    summary: 'Cancel a pending closure (and open the ticket); answers with the ticket',
    handler: async ({ params }) => presentTicket(await reopenTicket(pathId(params.id, 'ticket'))),
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/amend/:id',
    tag,
    status: 201,
    summary: 'Add a signed correction, in minutes, to the time tracked',
    body: s.amendBody,
    handler: async ({ params, body, actor }) => {
      await amendTime({ id: pathId(params.id, 'ticket'), minutes: body.time, actorId: actor.id });
      return { response: 'ticket time amended' };
    },
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/export/:customer_id',
    tag,
    produces: XLSX_CONTENT_TYPE,
    errors: [404],
    summary: "An Excel workbook of the customer's tickets, open and closed",
    description:
      "Answers 200 (the seed's status) with an .xlsx download streamed as it is built; with_segments=true adds a " +
      "sheet of the tickets' time segments. Dates are Excel dates in the configured time zone.",
    query: s.exportQuery,
    handler: async ({ params, query, ctx }) => {
      const { filename, stream } = await exportTickets({
        customerId: pathId(params.customer_id, 'customer'),
        withSegments: query.with_segments,
        log: ctx.state.log,
      });
      ctx.set('Content-Type', XLSX_CONTENT_TYPE);
      ctx.set('Content-Disposition', contentDisposition(filename));
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.set('Cache-Control', 'private, no-store');
      ctx.status = 200;
      ctx.body = stream;
      return undefined;
    },
  });
}

/** One ticket by id: show, update, delete, its replies read, its customer and associates. */
function registerTicketResourceRoutes(router: Router): void {
  route(router, {
    method: 'get',
    path: '/v1/tickets/:id',
    tag,
    summary: 'A ticket with its replies, customer, contacts, catalogue entries, people and attachments',
    handler: async ({ params }) => presentTicketDetail(await ticketDetail(pathId(params.id, 'ticket'))),
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/:id',
    tag,
    status: 201,
    summary: 'Update the fields given; answers with the ticket and its replies',
    body: s.updateBody,
    handler: async ({ params, body, actor }) => {
      const id = pathId(params.id, 'ticket');
      await updateTicket({ id, patch: body, actorId: actor.id });
      return presentTicketDetail(await ticketDetail(id));
    },
  });

  route(router, {
    method: 'delete',
    path: '/v1/tickets/:id',
    tag,
    summary: 'Delete a ticket and its replies',
    handler: async ({ params }) => {
      await deleteTicket(pathId(params.id, 'ticket'));
      return { response: 'element deleted' };
    },
  });

  route(router, {
    method: 'post',
    path: '/v1/tickets/:id/read-replies',
    tag,
    status: 201,
    summary: 'Mark every unread reply of the ticket as read',
    handler: async ({ params }) => {
      await markRepliesRead(pathId(params.id, 'ticket'));
      return { success: true };
    },
  });

  route(router, {
    method: 'get',
    path: '/v1/tickets/:id/customer',
    tag,
    summary: 'The customer of a ticket, with its contacts',
    handler: async ({ params }) => {
      const ticket = await loadTicket(undefined, pathId(params.id, 'ticket'));
      return presentCustomer(await showCustomer(ticket.ticketable_id));
    },
  });

  route(router, {
    method: 'put',
    path: '/v1/tickets/:id/associates',
    tag,
    status: 201,
    summary: "Attach and detach contacts of the ticket's customer (the last one stays)",
    body: s.associatesBody,
    handler: async ({ params, body }) => {
      const r = await updateAssociates({ id: pathId(params.id, 'ticket'), ...body });
      return { response: `${r.associated} associated and ${r.unassociated} unassociated` };
    },
  });
}
