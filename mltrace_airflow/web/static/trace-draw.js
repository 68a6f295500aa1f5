/* mltrace lineage graph's drawing blocks: text measured and fitted, the node shapes (run, component, a
 * "+k more" stub, the pointer), edge curves, the legend. Plain ES2017, no build step. Needs formats.js and
 * lineage.js; used by trace.js (window.MltraceDraw). Status is drawn as a glyph and written as a word,
 * never as a colour alone. Every piece of data goes in with textContent / setAttribute. */
(function () {
  'use strict';
  const L = window.MltraceLineage, F = window.MltraceFormats;
  const SVG = 'http://www.w3.org/2000/svg';
  const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'; // keep in sync with mltrace.css
  const BOLD = '600 ' + FONT, SUB_FONT = FONT.replace('12px', '11px');
  const MONO = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
  const LABEL_FONT = '11px ' + MONO, OUT_FONT = '12px ' + MONO;
  const RUN_H = 48, COMP_H = 66, NODE_MIN_W = 160, NODE_MAX_W = 270, LABEL_MAX_W = 170;
  const GLYPH = { success: '✓', failed: '✕', aborted: '⊘', running: '▶', unknown: '?' };

  function h(tag, attrs, text) {
    const el = document.createElement(tag);
    for (const k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text != null) el.textContent = String(text);
    return el;
  }
  function s(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const k in attrs || {}) el.setAttribute(k, attrs[k]);
    if (text != null) el.textContent = String(text);
    return el;
  }
  function title(parent, text) { parent.insertBefore(s('title', null, text), parent.firstChild); }

  // Text width via one shared canvas: far cheaper than getBBox() on 2000 live SVG nodes.
  let ctx = null, ctxFont = '';
  function textWidth(t, font) {
    if (!ctx) ctx = document.createElement('canvas').getContext('2d');
    font = font || FONT;
    if (font !== ctxFont) { ctx.font = ctxFont = font; }
    return ctx.measureText(t).width;
  }
  // Shorten to maxPx with an ellipsis; pointers in the middle (the file name at the end tells most).
  function fit(t, maxPx, middle, font) {
    t = String(t);
    if (textWidth(t, font) <= maxPx) return t;
    let lo = 0, hi = t.length;
    const cut = (n) => middle ? t.slice(0, Math.ceil(n / 2)) + '…' + t.slice(t.length - Math.floor(n / 2)) : t.slice(0, n) + '…';
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (textWidth(cut(mid), font) <= maxPx) lo = mid; else hi = mid - 1; }
    return cut(lo);
  }
  const when = (t) => F.when(t) || '—';
  function runTooltip(r) {
    let t = `${r.component} #${r.id}\nstatus: ${r.status}\nstart: ${when(r.start)}\nend: ${when(r.end)}\nduration: ${F.duration(L.seconds(r))}`;
    if (r.stale && r.stale.length) t += '\n\nStale inputs:\n' + r.stale.map((m) => '• ' + m).join('\n');
    if (r.notes) t += '\n\nNotes: ' + r.notes;
    return t;
  }
  function componentTooltip(c) {
    return `${c.name}: ${c.runs.length} run${c.runs.length === 1 ? '' : 's'}\n${L.statusMix(c.statuses)}\n` +
      `first start: ${when(c.start)}\nlast end: ${when(c.end)}\nspan: ${F.duration(c.span)}`;
  }

  // d3.curveBasis equivalent: a smooth B-spline through dagre's edge control points.
  function curve(p) {
    let d = `M${p[0].x},${p[0].y}`;
    if (p.length < 3) return d + (p[1] ? `L${p[1].x},${p[1].y}` : '');
    const f = (v) => Math.round(v * 10) / 10;
    let x0 = p[0].x, y0 = p[0].y, x1 = p[1].x, y1 = p[1].y;
    d += `L${f((5 * x0 + x1) / 6)},${f((5 * y0 + y1) / 6)}`;
    const seg = (x, y) => {
      d += `C${f((2 * x0 + x1) / 3)},${f((2 * y0 + y1) / 3)} ${f((x0 + 2 * x1) / 3)},${f((y0 + 2 * y1) / 3)} ${f((x0 + 4 * x1 + x) / 6)},${f((y0 + 4 * y1 + y) / 6)}`;
      x0 = x1; y0 = y1; x1 = x; y1 = y;
    };
    for (let i = 2; i < p.length; i++) seg(p[i].x, p[i].y);
    seg(x1, y1);
    return d + `L${x1},${y1}`;
  }

  // The text a node shows and the size it needs.
  function nodeSize(n) {
    if (n.kind === 'pointer') {
      const name = fit(n.name, NODE_MAX_W - 24, true, OUT_FONT);
      return { w: Math.max(120, textWidth(name, OUT_FONT) + 26), h: 40, name };
    }
    if (n.kind === 'run') {
      const r = n.run, stale = r.stale && r.stale.length;
      const name = fit(r.component, NODE_MAX_W - 44 - (stale ? 10 : 0), false, BOLD);
      const sub = [`#${r.id}`, r.status, F.duration(L.seconds(r))].filter(Boolean).join(' · ');
      const w = Math.max(NODE_MIN_W, Math.min(NODE_MAX_W, Math.max(textWidth(name, BOLD), textWidth(sub, SUB_FONT)) + 50));
      return { w, h: RUN_H, name, sub: fit(sub, w - 40, false, SUB_FONT) };
    }
    const c = n.component, countText = '×' + c.runs.length;
    const name = fit(c.name, NODE_MAX_W - 40 - textWidth(countText, BOLD), false, BOLD);
    const mix = L.statusMix(c.statuses), span = 'span ' + F.duration(c.span);
    const w = Math.max(NODE_MIN_W + 20, Math.min(NODE_MAX_W + 20, Math.max(textWidth(name, BOLD) + textWidth(countText, BOLD) + 16, textWidth(mix, SUB_FONT), textWidth(span, SUB_FONT)) + 40));
    return { w, h: COMP_H, name, countText, mix: fit(mix, w - 32, false, SUB_FONT), span: fit(span, w - 32, false, SUB_FONT) };
  }

  // ctx: {upstream, depth, expanded (component names), output} of the graph being drawn.
  function nodeBase(n, cls, p, tr, label) {
    const el = s('g', { class: `mltrace-node ${cls}`, transform: tr, 'data-key': n.key, tabindex: '-1', role: 'button', 'aria-label': label });
    return el;
  }
  function statusGlyph(el, status, y) {
    const gl = s('g', { class: 'mltrace-glyph', transform: `translate(16,${y})` });
    gl.appendChild(s('circle', { r: 8 }));
    gl.appendChild(s('text', { y: 4, 'text-anchor': 'middle' }, GLYPH[status]));
    el.appendChild(gl);
  }
  function runNode(n, sz, p, tr, ctx) {
    const r = n.run, st0 = L.statusKey(r.status), stale = r.stale && r.stale.length;
    const el = nodeBase(n, `mltrace-run mltrace-status-${st0}` + (stale ? ' mltrace-stale' : '') + (r.depth === 0 ? ' mltrace-root' : '') + (n.group && ctx.expanded.has(n.group.name) ? ' mltrace-grouped' : ''), p, tr,
      `${r.component} run ${r.id}, ${r.status}` + (stale ? ', stale inputs' : '') + '. Enter opens it, Space focuses it.');
    el.setAttribute('data-run-id', String(r.id));
    title(el, runTooltip(r));
    el.appendChild(s('rect', { class: 'mltrace-node-box', width: p.width, height: p.height, rx: 8 }));
    statusGlyph(el, st0, p.height / 2);
    el.appendChild(s('text', { class: 'mltrace-node-title', x: 32, y: 20 }, sz.name));
    el.appendChild(s('text', { class: 'mltrace-node-sub', x: 32, y: 37 }, sz.sub));
    if (stale) {
      const b = s('g', { class: 'mltrace-stale-badge', transform: `translate(${p.width - 4},4)` });
      b.appendChild(s('title', null, 'Stale inputs:\n' + r.stale.map((m) => '• ' + m).join('\n')));
      b.appendChild(s('circle', { r: 9 }));
      b.appendChild(s('text', { y: 4, 'text-anchor': 'middle' }, '!'));
      el.appendChild(b);
    }
    return el;
  }
  function componentNode(n, sz, p, tr, loop) {
    const c = n.component, worst = L.worst(c.statuses);
    const el = nodeBase(n, `mltrace-component mltrace-status-${worst}`, p, tr,
      `${c.name}, ${c.runs.length} runs: ${L.statusMix(c.statuses)}, span ${F.duration(c.span)}. Enter expands it, Space focuses it.`);
    el.setAttribute('data-component', c.name);
    el.setAttribute('data-count', String(c.runs.length));
    title(el, componentTooltip(c) + (loop ? `\n\n${loop.runs} of its runs read what its earlier runs wrote (${loop.pointers.slice(0, 5).join(', ')}${loop.pointers.length > 5 ? ', …' : ''})` : ''));
    if (c.runs.length > 1) { // a stack of cards: many runs behind one node
      el.appendChild(s('rect', { class: 'mltrace-node-stack', x: 6, y: -6, width: p.width, height: p.height, rx: 8 }));
      el.appendChild(s('rect', { class: 'mltrace-node-stack', x: 3, y: -3, width: p.width, height: p.height, rx: 8 }));
    }
    el.appendChild(s('rect', { class: 'mltrace-node-box', width: p.width, height: p.height, rx: 8 }));
    statusGlyph(el, worst, 22);
    el.appendChild(s('text', { class: 'mltrace-node-title', x: 32, y: 20 }, sz.name));
    el.appendChild(s('text', { class: 'mltrace-node-count', x: p.width - 10, y: 20, 'text-anchor': 'end' }, sz.countText));
    el.appendChild(s('text', { class: 'mltrace-node-sub', x: 32, y: 37 }, sz.mix));
    el.appendChild(s('text', { class: 'mltrace-node-sub', x: 32, y: 52 }, sz.span));
    let x = 10; // the status mix as a bar along the bottom edge
    const w = p.width - 20, total = c.runs.length;
    for (const status of L.STATUS_ORDER) {
      const k = c.statuses[status];
      if (!k) continue;
      const seg = Math.max(2, (w * k) / total);
      el.appendChild(s('rect', { class: `mltrace-mix mltrace-mix-${status}`, x, y: p.height - 7, width: Math.min(seg, 10 + w - x), height: 3 }));
      x += seg;
    }
    if (loop) {
      const b = s('g', { class: 'mltrace-loop-badge', transform: `translate(${p.width - 14},${p.height - 16})` });
      b.appendChild(s('text', { 'text-anchor': 'end' }, '↻ ' + loop.runs));
      el.appendChild(b);
    }
    return el;
  }
  function addBadges(el, list, p) {
    let x = p.width - 6;
    for (const b of list) {
      const w = textWidth(String(b.text), SUB_FONT) + 12;
      x -= w;
      const g = s('g', { class: 'mltrace-hook-badge ' + (b.className || ''), transform: `translate(${x},${-9})` });
      if (b.title) g.appendChild(s('title', null, b.title));
      g.appendChild(s('rect', { width: w, height: 16, rx: 8 }));
      g.appendChild(s('text', { x: w / 2, y: 12, 'text-anchor': 'middle' }, b.text));
      el.appendChild(g);
      x -= 4;
    }
  }
  function moreNode(key, k, p, tr, ctx) {
    const el = s('g', { class: 'mltrace-more', transform: tr, 'data-key': key, role: 'button', tabindex: '0', 'aria-label': `Show ${k} more ${ctx.upstream ? 'upstream' : 'downstream'} runs` });
    title(el, `${k} run${k === 1 ? '' : 's'} linked to this one lie beyond depth ${ctx.depth}. Click to show 3 more levels.`);
    el.appendChild(s('rect', { width: p.width, height: p.height, rx: 17 }));
    el.appendChild(s('text', { x: p.width / 2, y: 21, 'text-anchor': 'middle' }, `+${k} more ${ctx.upstream ? 'upstream' : 'downstream'}`));
    return el;
  }
  function outputNode(sz, p, tr, ctx) {
    const el = s('g', { class: 'mltrace-output-node', transform: tr, 'data-key': 'output', tabindex: '-1', role: 'img', 'aria-label': (ctx.upstream ? 'Output ' : 'Pointer ') + ctx.output });
    title(el, (ctx.upstream ? 'Output: ' : 'Read by the runs on its right: ') + ctx.output);
    el.appendChild(s('rect', { width: p.width, height: p.height, rx: 4 }));
    el.appendChild(s('text', { class: 'mltrace-output-kicker', x: 12, y: 15 }, ctx.upstream ? 'OUTPUT' : 'POINTER'));
    el.appendChild(s('text', { x: 12, y: 31 }, sz.name));
    return el;
  }

  function legend() {
    const el = h('div', { class: 'mltrace-legend' });
    for (const stt of F.STATUSES) {
      const item = h('span', { class: 'mltrace-legend-item' });
      item.appendChild(h('span', { class: `mltrace-swatch mltrace-status-${stt}`, 'aria-hidden': 'true' }, GLYPH[stt]));
      item.appendChild(document.createTextNode(stt));
      el.appendChild(item);
    }
    const stale = h('span', { class: 'mltrace-legend-item' });
    stale.appendChild(h('span', { class: 'mltrace-swatch-stale', 'aria-hidden': 'true' }, '!'));
    stale.appendChild(document.createTextNode('stale input'));
    el.appendChild(stale);
    const comp = h('span', { class: 'mltrace-legend-item' });
    comp.appendChild(h('span', { class: 'mltrace-swatch-stack', 'aria-hidden': 'true' }));
    comp.appendChild(document.createTextNode('component: ×runs, status mix, span'));
    el.appendChild(comp);
    el.appendChild(h('span', { class: 'mltrace-legend-item mltrace-legend-hint' },
      'Click or Space: focus · double-click or Enter: expand / open · arrows: move · Esc: clear · drag, wheel: pan, zoom'));
    return el;
  }

  window.MltraceDraw = {
    h, s, title, textWidth, fit, when, curve, nodeSize, runNode, componentNode, moreNode, outputNode, addBadges, legend,
    GLYPH, LABEL_FONT, LABEL_MAX_W,
  };
})();
