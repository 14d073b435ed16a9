/**
 * The mail templates under `templates/`: for each kind of message a Handlebars body in
 * HTML (values escaped; only our own sanitized HTML goes in with `{{{ }}}`) and in text,
 * both wrapped in the layout, which carries the "reply above this line" marker. Subjects
 * are defined here; every ticket message carries `[#NUMBER]`.
 */
import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { REPLY_ABOVE_MARKER } from '../inbound/quotes';

interface TemplateSpec {
  /** File name under templates/ without `.html.hbs` / `.text.hbs` (default: the template's name). */
  file?: string;
  subject: string;
  /** About a ticket, which the reader can answer (the marker goes on top). */
  answerable: boolean;
}

const TEMPLATES: Record<string, TemplateSpec> = {
  agent_reply: { subject: '[#{{ticket.number}}] {{ticket.subject}}', answerable: true },
  ticket_acknowledgement: { subject: '[#{{ticket.number}}] {{ticket.subject}}', answerable: true },
  auto_closure_reminder: { subject: '[#{{ticket.number}}] {{ticket.subject}}', answerable: true },
  ticket_closed: { subject: '[#{{ticket.number}}] {{ticket.subject}}', answerable: true },
  new_ticket_to_team: { subject: '[#{{ticket.number}}] New ticket: {{ticket.subject}}', answerable: true },
  customer_reply_to_team: { subject: '[#{{ticket.number}}] Customer reply: {{ticket.subject}}', answerable: true },
  reply_to_team: { file: 'agent_reply_to_agents', subject: '[#{{ticket.number}}] {{author.name}}: {{ticket.subject}}', answerable: true },
  reply_to_assignee: { file: 'agent_reply_to_agents', subject: '[#{{ticket.number}}] {{author.name}}: {{ticket.subject}}', answerable: true },
  ticket_assigned: { subject: '[#{{ticket.number}}] Assigned to you: {{ticket.subject}}', answerable: true },
  // Fixed text: the sender may be forged, so nothing they wrote goes back (no backscatter payload).
  unknown_sender_notice: { subject: 'Your message to {{mailbox.email}} was not delivered', answerable: false },
  points_alert: { subject: 'Support points running low: {{data.customer_name}}', answerable: false },
  team_report: { subject: 'Helpdesk report for {{data.day}}', answerable: false },
  quarantine_digest: { subject: 'Quarantine: {{data.waiting}} waiting for a person ({{data.day}})', answerable: false },
};

export const TEMPLATE_NAMES = Object.keys(TEMPLATES);

const TEMPLATES_DIR = [path.resolve(__dirname, '../../../templates'), path.resolve(__dirname, '../../../../templates')].find((dir) =>
  fs.existsSync(path.join(dir, 'layouts')),
);

interface Compiled {
  subject: HandlebarsTemplateDelegate;
  html: HandlebarsTemplateDelegate;
  text: HandlebarsTemplateDelegate;
}

const compiled = new Map<string, Compiled>();
let layouts: { html: HandlebarsTemplateDelegate; text: HandlebarsTemplateDelegate } | undefined;

function read(file: string): string {
  if (!TEMPLATES_DIR) throw new Error('the templates/ folder was not found beside the program');
  return fs.readFileSync(path.join(TEMPLATES_DIR, file), 'utf8');
}

const strict = { strict: false, preventIndent: true };

function compiledTemplate(name: string): Compiled {
  const hit = compiled.get(name);
  if (hit) return hit;
  const spec = TEMPLATES[name];
  if (!spec) throw new Error(`unknown mail template ${name}`);
  const file = spec.file ?? name;
  const result: Compiled = {
    subject: Handlebars.compile(spec.subject, { ...strict, noEscape: true }),
    html: Handlebars.compile(read(`${file}.html.hbs`), strict),
    text: Handlebars.compile(read(`${file}.text.hbs`), { ...strict, noEscape: true }),
  };
  compiled.set(name, result);
  return result;
}

function layout(): NonNullable<typeof layouts> {
  layouts ??= {
    html: Handlebars.compile(read('layouts/email.html.hbs'), strict),
    text: Handlebars.compile(read('layouts/email.text.hbs'), { ...strict, noEscape: true }),
  };
  return layouts;
}

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

/** Renders template `name` with `context` (plain values; HTML fields already sanitized). */
export function renderTemplate(name: string, context: Record<string, unknown>): RenderedMail {
  const t = compiledTemplate(name);
  const spec = TEMPLATES[name]!;
  if (spec.answerable && !context.ticket) throw new Error('the ticket of this message no longer exists');
  const subject = t
    .subject(context)
    .replace(/[\r\n]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const shared = { ...context, subject, marker: spec.answerable ? REPLY_ABOVE_MARKER : undefined };
  return {
    subject,
    html: layout().html({ ...shared, content: t.html(context) }),
    text: `${layout()
      .text({ ...shared, content: t.text(context).trim() })
      .trim()}\n`,
  };
}

/** Compiles every template once (at start, so a broken file stops the mailer at once). */
export function checkTemplates(): void {
  layout();
  for (const name of TEMPLATE_NAMES) compiledTemplate(name);
}
