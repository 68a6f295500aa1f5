/* mltrace lineage graph as a file: the view on screen as SVG or PNG (standalone, in the page's theme), or
 * as Graphviz DOT, Mermaid (lineage.js: the rules of mltrace_core/export.py) or JSON (by run: the trace
 * as the API returns it; by component: the component graph as `mltrace trace --format json --by
 * component` prints it). Plain ES2017, no build step. Used through the graph's api: download(fmt),
 * exportBlob(fmt), exportText(fmt). */
(function () {
  'use strict';
  const L = window.MltraceLineage;
  const TYPES = { svg: 'image/svg+xml', png: 'image/png', dot: 'text/vnd.graphviz', mermaid: 'text/plain', json: 'application/json' };
  const EXT = { svg: 'svg', png: 'png', dot: 'dot', mermaid: 'mmd', json: 'json' };
  const MAX_PNG_PIXELS = 40e6, MAX_PNG_SIDE = 16000; // what browsers' canvases reliably hold

  function filename(api, fmt) {
    const tail = String(api.trace.output || 'trace').split(/[\\/:]+/).filter(Boolean).pop() || 'trace';
    const slug = tail.replace(/[^\w.-]+/g, '_').slice(0, 60);
    return `lineage-${slug}-${api.mode === 'component' ? 'components' : 'runs'}.${EXT[fmt]}`;
  }

  // The stylesheet's rules and the current values of its --mt-* colours, so the file looks like the page.
  function styles(api) {
    const rules = [];
    for (const sheet of document.styleSheets) {
      let list;
      try { list = sheet.cssRules; } catch (e) { continue; } // another origin's sheet
      for (const rule of list) if (rule.cssText.includes('mltrace-')) rules.push(rule.cssText);
    }
    const css = rules.join('\n'), computed = getComputedStyle(api.root), vars = new Set(css.match(/--mt-[\w-]+/g) || []);
    const values = [...vars].map((name) => `${name}: ${computed.getPropertyValue(name).trim()};`).join(' ');
    return { css: css + `\nsvg.mltrace-svg.mltrace-export { ${values} }`, background: computed.getPropertyValue('--mt-subtle').trim() || '#fff' };
  }

  function svgText(api) {
    const g = api.layout().graph(), w = Math.ceil(g.width || 1), h = Math.ceil(g.height || 1);
    const copy = api.svg.cloneNode(true);
    copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    copy.setAttribute('width', String(w));
    copy.setAttribute('height', String(h));
    copy.setAttribute('viewBox', `0 0 ${w} ${h}`);
    copy.setAttribute('class', copy.getAttribute('class') + ' mltrace-export');
    copy.removeAttribute('style');
    copy.querySelector('.mltrace-scene').removeAttribute('transform');
    const { css, background } = styles(api);
    const style = document.createElementNS('http://www.w3.org/2000/svg', 'style');
    style.textContent = css;
    copy.insertBefore(style, copy.firstChild);
    const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    for (const [k, val] of [['width', w], ['height', h], ['fill', background]]) bg.setAttribute(k, String(val));
    copy.insertBefore(bg, style.nextSibling);
    return new XMLSerializer().serializeToString(copy);
  }

  function exportText(api, fmt) {
    const trace = api.trace;
    if (fmt === 'dot') return L.toDot(trace, api.view());
    if (fmt === 'mermaid') return L.toMermaid(trace, api.view());
    if (fmt === 'json') return JSON.stringify(api.mode === 'component' ? L.byComponent(trace) : trace, null, 2) + '\n';
    if (fmt === 'svg') return svgText(api);
    throw new Error('no text export for ' + fmt);
  }

  function pngBlob(api) {
    const g = api.layout().graph(), w = g.width || 1, h = g.height || 1;
    const scale = Math.min(2, Math.sqrt(MAX_PNG_PIXELS / (w * h)), MAX_PNG_SIDE / w, MAX_PNG_SIDE / h);
    const url = URL.createObjectURL(new Blob([svgText(api)], { type: TYPES.svg }));
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => {
        const canvas = document.createElement('canvas');
        canvas.width = Math.max(1, Math.round(w * scale));
        canvas.height = Math.max(1, Math.round(h * scale));
        canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the PNG could not be encoded'))), TYPES.png);
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error('the SVG could not be drawn')); };
      img.src = url;
    });
  }

  function exportBlob(api, fmt) {
    if (fmt === 'png') return pngBlob(api);
    return Promise.resolve(new Blob([exportText(api, fmt)], { type: TYPES[fmt] + ';charset=utf-8' }));
  }

  // Save through a temporary <a download>: Airflow's plugin frame allows downloads.
  function download(api, fmt) {
    const name = filename(api, fmt);
    return exportBlob(api, fmt).then((blob) => {
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url; a.download = name; a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      return name;
    });
  }

  window.MltraceTrace = Object.assign(window.MltraceTrace || {}, { exportText, exportBlob, download, exportFilename: filename });
})();
