/* How mltrace shows times, durations and statuses: the rules of mltrace_core/formats.py, in the browser
 * (tests/web/test_formats.py runs both on the same values). Plain ES2017, no build step. */
(function (root) {
  'use strict';
  const STATUSES = ['success', 'failed', 'aborted', 'running'];
  const pad = (n) => String(n).padStart(2, '0');

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }

  // Python's round(): halves go to the even neighbour.
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !(seconds >= 0)) return '';
    if (seconds < 1) return `${roundHalfEven(seconds * 1000)} ms`;
    if (seconds < 59.95) return `${(roundHalfEven(seconds * 10) / 10).toFixed(1)} s`;
    const whole = roundHalfEven(seconds);
    if (whole < 3600) return `${Math.floor(whole / 60)} min ${pad(whole % 60)} s`;
    return `${Math.floor(whole / 3600)} h ${pad(Math.floor((whole % 3600) / 60))} min`;
  }

  function status(s) { return STATUSES.includes(s) ? s : 'unknown'; }

  root.MltraceFormats = { STATUSES, when, duration, status };
})(typeof window !== 'undefined' ? window : globalThis);
