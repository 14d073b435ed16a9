import { NUMBER_ALPHABET, normalizeTicketNumber, randomTicketNumber } from '../../../src/services/tickets/ticketNumber';

describe('ticket numbers', () => {
  it('are 6 characters without look-alikes', () => {
    for (let i = 0; i < 2000; i++) expect(randomTicketNumber()).toMatch(/^[A-HJKMNP-Z2-9]{6}$/);
    expect(NUMBER_ALPHABET).not.toMatch(/[01ILO]/);
  });
  it('spread over the alphabet', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) for (const c of randomTicketNumber()) seen.add(c);
    expect(seen.size).toBe(NUMBER_ALPHABET.length);
  });
  it('normalise what people type', () => {
    expect(normalizeTicketNumber(' abc234 ')).toBe('ABC234');
  });
});
