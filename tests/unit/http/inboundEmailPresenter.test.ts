import { publicError } from '../../../src/http/routes/mail/presenter';

describe('publicError', () => {
  it('keeps the class and first line, without SQL, paths or stack', () => {
    expect(publicError(null)).toBeNull();
    expect(
      publicError(
        'error 23505: insert into "t" ("a") values ($1) - duplicate key value violates unique constraint "t_a"\n    at x (/app/node_modules/pg/x.js:1:2)',
      ),
    ).toBe('error 23505: duplicate key value violates unique constraint "t_a"');
    expect(publicError("Error ENOENT: no such file or directory, open '/var/lib/helpdesk/blobs/ab/cd'")).toBe(
      "Error ENOENT: no such file or directory, open '…'",
    );
    expect(publicError('RangeError: bad at C:\\srv\\app\\x.js:1:1')).toBe('RangeError: bad at …');
    expect(publicError('simulated')).toBe('Error: simulated');
    expect(publicError(`Error: ${'x'.repeat(1000)}`)!.length).toBeLessThanOrEqual(310);
  });
});
