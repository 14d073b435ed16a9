/**
 * HTML to PDF with Debian's Chromium through puppeteer-core. One browser serves every
 * render: launched on the first one, launched again when it died or disconnected, closed
 * at shutdown (`closePdfRenderer`). Each render gets its own browser context (no cookies,
 * cache or storage shared between reports) and at most MAX_CONCURRENT_RENDERS run at once;
 * the others wait their turn.
 *
 * The page gets no network at all (STACK.md: interception alone lets `<link rel=prefetch>`,
 * `preconnect` and WebSockets out): every request but `data:` and `about:` is aborted,
 * JavaScript is off, and the browser's proxy is a dead port with loopback included
 * (`<-loopback>`), so whatever escapes interception goes nowhere, 127.0.0.1 too.
 */
import puppeteer, { type Browser, type HTTPRequest } from 'puppeteer-core';
import { config } from '../config';
import { AppError } from '../errors';
import { logger } from '../logger';

/** Renders running at once; more wait (each holds a page of its own, about 50 MB). */
export const MAX_CONCURRENT_RENDERS = 2;
const LAUNCH_TIMEOUT_MS = 30_000;
const RENDER_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 5_000;

/** STACK.md's flags (puppeteer adds --headless), and the dead proxy that keeps everything the interception misses off the network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-first-run',
  '--no-default-browser-check',
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
];

const log = logger.child({ component: 'pdf' });

/** Chromium could not be started: a 503 whose message says what to set. */
export class PdfRendererUnavailable extends AppError {
  constructor() {
    super(
      503,
      'pdf_renderer_unavailable',
      "PDF reports need Chromium, which could not be started: install Debian's chromium package or set CHROMIUM_PATH to the browser's binary (`helpdesk doctor` checks it)",
    );
  }
}

/** Only inline data and blank pages load; everything else is aborted. */
export function requestAllowed(url: string): boolean {
  const scheme = url.slice(0, 6).toLowerCase();
  return scheme.startsWith('data:') || scheme === 'about:';
}

function onRequest(req: HTTPRequest): void {
  if (requestAllowed(req.url())) void req.continue().catch(() => undefined);
  // a navigation away (`<meta http-equiv=refresh>`, a form) answered 204 leaves the page as
  // it is; aborted, it would replace the report with an error page
  else if (req.isNavigationRequest()) void req.respond({ status: 204, body: '' }).catch(() => undefined);
  else void req.abort('blockedbyclient').catch(() => undefined);
}

/** What a render takes besides the HTML. */
export interface PdfOptions {
  /** Right-hand footer text on every page, before the page numbers (escaped here). */
  footer?: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The shared browser, a render limit, and counters (launches, renders, most renders at once) for tests and logs. */
export class PdfRenderer {
  private browser?: Promise<Browser>;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  readonly stats = { launches: 0, renders: 0, peak: 0 };

  constructor(
    private readonly executablePath: () => string = () => config().chromiumPath,
    private readonly maxConcurrent = MAX_CONCURRENT_RENDERS,
  ) {}

  /** The PDF of `html`, A4, backgrounds printed, page numbers in the footer. */
  async render(html: string, options: PdfOptions = {}): Promise<Buffer> {
    await this.acquire();
    try {
      try {
        return await this.renderOnce(html, options);
      } catch (e) {
        // the browser died under this render: one more try on a fresh one
        if (e instanceof PdfRendererUnavailable || (await this.stillConnected())) throw e;
        log.warn({ err: e }, 'the browser went away during a render; trying again with a new one');
        return await this.renderOnce(html, options);
      }
    } finally {
      this.release();
    }
  }

  /** The browser's process id, while one runs. */
  async browserPid(): Promise<number | undefined> {
    const browser = await this.browser?.catch(() => undefined);
    return browser?.connected ? browser.process()?.pid : undefined;
  }

  /** Closes the browser (a later render launches a new one). */
  async close(): Promise<void> {
    const pending = this.browser;
    this.browser = undefined;
    const browser = await pending?.catch(() => undefined);
    if (!browser?.connected) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CLOSE_TIMEOUT_MS / 1000} s`)), CLOSE_TIMEOUT_MS);
    });
    await Promise.race([browser.close(), timeout])
      .catch((e: unknown) => {
        log.warn({ err: e }, 'the browser did not close cleanly; killing it');
        browser.process()?.kill('SIGKILL');
      })
      .finally(() => clearTimeout(timer));
  }

  private async renderOnce(html: string, options: PdfOptions): Promise<Buffer> {
    const browser = await this.connectedBrowser();
    const context = await browser.createBrowserContext();
    try {
      const page = await context.newPage();
      await page.setJavaScriptEnabled(false);
      page.on('request', onRequest);
      await page.setRequestInterception(true);
      await page.setContent(html, { waitUntil: 'load', timeout: RENDER_TIMEOUT_MS });
      const footer = options.footer ? `${escapeHtml(options.footer)} &middot; ` : '';
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        // an untagged PDF: a 500-row report is 20 times smaller (1.2 MB tagged) and made 3 to 4 times faster
        tagged: false,
        timeout: RENDER_TIMEOUT_MS,
        margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
        displayHeaderFooter: true,
        headerTemplate: '<span></span>',
        footerTemplate:
          '<div style="font-size:8px;width:100%;padding:0 12mm;text-align:right;color:#666;font-family:sans-serif">' +
          `${footer}<span class="pageNumber"></span> / <span class="totalPages"></span></div>`,
      });
      this.stats.renders++;
      return Buffer.from(pdf);
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  private async stillConnected(): Promise<boolean> {
    const browser = await this.browser?.catch(() => undefined);
    return Boolean(browser?.connected);
  }

  /**
   * The running browser, or a new one. Renders arriving during a launch share it (and its
   * failure); one that comes after a failed launch tries again.
   */
  private async connectedBrowser(): Promise<Browser> {
    const pending = this.browser;
    if (pending) {
      const current = await pending;
      if (current.connected) return current;
      if (this.browser === pending) this.browser = undefined;
    }
    this.browser ??= this.launch();
    return this.browser;
  }

  private launch(): Promise<Browser> {
    const executablePath = this.executablePath();
    this.stats.launches++;
    const launching: Promise<Browser> = puppeteer
      .launch({
        executablePath,
        pipe: true,
        headless: true,
        args: CHROMIUM_ARGS,
        timeout: LAUNCH_TIMEOUT_MS,
        // our own SIGTERM/SIGINT handling closes it (closePdfRenderer); a crash of ours closes the pipe, which ends it
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      })
      .then(
        (browser) => {
          log.info({ browser_pid: browser.process()?.pid }, 'browser started');
          browser.on('disconnected', () => {
            if (this.browser !== launching) return; // closed on purpose
            this.browser = undefined;
            log.warn('the browser disconnected; the next render starts a new one');
          });
          return browser;
        },
        (e: unknown) => {
          if (this.browser === launching) this.browser = undefined;
          log.error({ err: e, chromium_path: executablePath }, 'the browser could not be started (CHROMIUM_PATH)');
          throw new PdfRendererUnavailable();
        },
      );
    return launching;
  }

  private acquire(): Promise<void> {
    if (this.active < this.maxConcurrent) {
      this.active++;
      this.stats.peak = Math.max(this.stats.peak, this.active);
      return Promise.resolve();
    }
    // release() hands its slot over: `active` stays as it is
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active--;
  }
}

/** The process's renderer. */
export const pdfRenderer = new PdfRenderer();

/** Closes the process's browser (shutdown). */
export function closePdfRenderer(): Promise<void> {
  return pdfRenderer.close();
}
