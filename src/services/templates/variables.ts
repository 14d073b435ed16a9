/**
 * Template variables (`{{ticket.number}}`, `{{contact.name}}`, ...) in bodies written by
 * agents: resolved against a fixed list of values, HTML-escaped. Anything else stays as it
 * was written. Customer-written text never goes through here.
 */
import Handlebars from 'handlebars';

/** Every variable a body or template may use. */
export const TEMPLATE_VARIABLES = [
  'ticket.number',
  'ticket.subject',
  'ticket.status',
  'ticket.priority',
  'ticket.url',
  'contact.name',
  'contact.email',
  'customer.name',
  'agent.name',
  'agent.email',
] as const;

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string | null | undefined>>;

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);
const PATTERN = /\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}/g;

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** `body` with each known variable replaced by its escaped value (empty when unknown). */
export function resolveVariables(body: string, values: TemplateValues): string {
  return body.replace(PATTERN, (whole, name: string) => {
    if (!KNOWN.has(name)) return whole;
    return escapeHtml(values[name as TemplateVariable] ?? '');
  });
}

/**
 * Problems with a template's text: Handlebars syntax errors, and variables outside the
 * fixed list. Empty when the template is usable.
 */
export function templateProblems(text: string): string[] {
  let ast: hbs.AST.Program;
  try {
    ast = Handlebars.parse(text);
  } catch (e) {
    return [`syntax error: ${(e as Error).message.split('\n')[0]}`];
  }
  const problems: string[] = [];
  for (const node of ast.body) {
    if (node.type === 'ContentStatement' || node.type === 'CommentStatement') continue;
    if (node.type !== 'MustacheStatement') {
      problems.push('only simple variables like {{ticket.number}} are allowed');
      continue;
    }
    const m = node as hbs.AST.MustacheStatement;
    const name = m.path.type === 'PathExpression' ? (m.path as hbs.AST.PathExpression).original : '';
    if (m.params.length > 0 || !KNOWN.has(name)) problems.push(`unknown variable {{${name || '?'}}}`);
  }
  return problems;
}
