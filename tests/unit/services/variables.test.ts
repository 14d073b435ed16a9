import { resolveVariables, templateProblems } from '../../../src/services/templates/variables';

describe('resolveVariables', () => {
  it('replaces known variables with escaped values', () => {
    const out = resolveVariables('<p>Hi {{contact.name}}, ticket {{ ticket.number }}</p>', {
      'contact.name': '<b>Eve</b> & co',
      'ticket.number': 'ABC234',
    });
    expect(out).toBe('<p>Hi &lt;b&gt;Eve&lt;/b&gt; &amp; co, ticket ABC234</p>');
  });

  it('leaves unknown variables and other braces as written', () => {
    expect(resolveVariables('{{constructor.name}} {{#each x}} {x}', {})).toBe('{{constructor.name}} {{#each x}} {x}');
  });

  it('resolves a known variable without a value to empty', () => {
    expect(resolveVariables('[{{agent.name}}]', {})).toBe('[]');
  });
});

describe('templateProblems', () => {
  it('accepts known variables', () => {
    expect(templateProblems('Dear {{contact.name}}, about {{ticket.number}}')).toEqual([]);
  });
  it('names unknown variables', () => {
    expect(templateProblems('{{ticket.secret}}')).toEqual(['unknown variable {{ticket.secret}}']);
  });
  it('reports syntax errors', () => {
    expect(templateProblems('{{ticket.number')[0]).toMatch(/^syntax error/);
  });
  it('refuses helpers and blocks', () => {
    expect(templateProblems('{{#each tickets}}x{{/each}}')).toHaveLength(1);
    expect(templateProblems('{{lookup ticket "number"}}')).toHaveLength(1);
  });
});
