import { isConnectionError, mapDbError } from '../../../src/db/errors';

describe('isConnectionError', () => {
  it('knows an unreachable database by SQLSTATE class and driver code', () => {
    for (const code of ['57P01', '57P03', '08006', '08001', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '3D000']) {
      expect(isConnectionError(Object.assign(new Error('x'), { code }))).toBe(true);
    }
    const knexTimeout = Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' });
    expect(isConnectionError(knexTimeout)).toBe(true);
    // wrapped by Objection (nativeError) or as a cause
    expect(isConnectionError({ nativeError: { code: '57P01' } })).toBe(true);
    expect(isConnectionError(new Error('failed', { cause: Object.assign(new Error('y'), { code: 'ECONNREFUSED' }) }))).toBe(true);
  });

  it('never by message text, and not for errors of the work itself', () => {
    expect(isConnectionError(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe(false);
    expect(isConnectionError(new Error('terminating connection due to administrator command'))).toBe(false);
    for (const code of ['23505', '22021', '40P01', '42P01', 'P0001']) expect(isConnectionError(Object.assign(new Error('x'), { code }))).toBe(false);
    expect(isConnectionError(undefined)).toBe(false);
    expect(isConnectionError('57P01')).toBe(false);
  });
});

describe('mapDbError', () => {
  it('a NUL or invalid text that reached PostgreSQL is a 400, not a 500', () => {
    expect(mapDbError({ code: '22021' })).toMatchObject({ status: 400 });
    expect(mapDbError({ code: '22P05' })).toMatchObject({ status: 400 });
  });
});
