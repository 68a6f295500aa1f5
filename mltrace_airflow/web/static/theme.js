/* Airflow's light or dark theme, inside the plugin's frame. Loaded in <head> so the page never flashes
 * the other theme. Plain ES2017, no build step.
 *
 * Airflow 3's UI shows plugin pages in a same-origin iframe and keeps its colour mode as a class on its
 * own <html> ("light" / "dark", next-themes), which the frame's prefers-color-scheme does not follow.
 * So: copy that class (as mltrace-theme-light / -dark, see mltrace.css), watch it change, and take
 * Airflow's own surface colours (Chakra's --chakra-colors-* variables) so the page sits in the UI like
 * one of its own. Opened on its own, the page follows prefers-color-scheme. */
(function () {
  'use strict';
  let top = null;
  try {
    if (window.parent !== window && window.parent.document) top = window.parent.document.documentElement;
  } catch (e) {
    return; // another origin: stay with prefers-color-scheme
  }
  if (!top) return;
  const html = document.documentElement;
  // our variable <- Airflow's semantic token
  const TOKENS = {
    '--mt-bg': '--chakra-colors-bg', '--mt-fg': '--chakra-colors-fg', '--mt-muted': '--chakra-colors-fg-muted',
    '--mt-border': '--chakra-colors-border', '--mt-subtle': '--chakra-colors-bg-subtle', '--mt-label-bg': '--chakra-colors-bg',
  };
  function apply() {
    const cls = top.classList, style = getComputedStyle(top);
    const dark = cls.contains('dark') || (!cls.contains('light') && style.colorScheme === 'dark');
    html.classList.add('mltrace-in-airflow');
    html.classList.toggle('mltrace-theme-dark', dark);
    html.classList.toggle('mltrace-theme-light', !dark);
    for (const ours in TOKENS) {
      const value = style.getPropertyValue(TOKENS[ours]).trim();
      if (value) html.style.setProperty(ours, value); else html.style.removeProperty(ours);
    }
  }
  apply();
  new MutationObserver(apply).observe(top, { attributes: true, attributeFilter: ['class', 'style'] });
})();
