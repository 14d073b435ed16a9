import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.blobStore).toBe('database');
    expect(c.mailFrom).toBe('helpdesk@localhost');
    expect(c.mailDomain).toBe('localhost');
    expect(c.inboundMaxBytes).toBe(50 * 1024 * 1024);
    expect(c.autoMailPerHour).toBe(10);
    expect(c.databaseUrl).toBeUndefined();
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ PORT: 'eighty', BLOB_STORE: 's3', DATABASE_URL: 'mysql://x' });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toMatch(/PORT/);
      expect(problems).toMatch(/BLOB_STORE/);
      expect(problems).toMatch(/DATABASE_URL/);
    }
  });

  it('requires a secret with DATABASE_URL', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x/y' })).toThrow(/HELPDESK_SECRET/);
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y', HELPDESK_SECRET: 'a'.repeat(32) }).databaseUrl).toBe('postgres://x/y');
  });

  it('logs pretty on a terminal and JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(loadConfig({}, true).logFormat).toBe('pretty');
    expect(loadConfig({}, false).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }, true).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, false).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('keeps raw mail forever unless RAW_MAIL_KEEP_DAYS says how long', () => {
    expect(loadConfig({}).rawMailKeepDays).toBe(0);
    expect(loadConfig({ RAW_MAIL_KEEP_DAYS: '' }).rawMailKeepDays).toBe(0);
    expect(loadConfig({ RAW_MAIL_KEEP_DAYS: '90' }).rawMailKeepDays).toBe(90);
    expect(() => loadConfig({ RAW_MAIL_KEEP_DAYS: '-1' })).toThrow(/RAW_MAIL_KEEP_DAYS/);
    expect(() => loadConfig({ RAW_MAIL_KEEP_DAYS: 'a year' })).toThrow(/RAW_MAIL_KEEP_DAYS/);
  });

  it('derives MAIL_DOMAIN from MAIL_FROM', () => {
    expect(loadConfig({ MAIL_FROM: 'support@acme.test' }).mailDomain).toBe('acme.test');
  });
});
