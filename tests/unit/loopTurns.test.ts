import { loopTurns } from '../../src/loopTurns';

describe('loopTurns', () => {
  it('lets a timer run during a loop whose awaits settle at once', async () => {
    let timerRanAt: number | undefined;
    let step = 0;
    setTimeout(() => (timerRanAt = step), 0);
    const turn = loopTurns(5);
    const started = Date.now();
    // about 60 ms of work in steps that never wait for I/O
    while (Date.now() - started < 60) {
      const until = Date.now() + 1;
      while (Date.now() < until);
      step++;
      await Promise.resolve();
      await turn();
    }
    expect(timerRanAt).toBeDefined();
    expect(timerRanAt).toBeLessThan(step);
  });

  it('goes on at once within a slice', async () => {
    const turn = loopTurns(1000);
    let immediate = false;
    setImmediate(() => (immediate = true));
    for (let i = 0; i < 100; i++) await turn();
    expect(immediate).toBe(false);
  });
});
