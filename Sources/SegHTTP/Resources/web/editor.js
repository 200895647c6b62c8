// The image view: the image with its polygons (holes visible, even-odd fill) in an SVG, zoom and pan, hover for
// metrics, vertex editing (drag to move, double-click an edge to add, Delete to remove), drawing, undo/redo, saving
// as a new version and switching between versions.
const SVG = 'http://www.w3.org/2000/svg';
const METRICS = ['area', 'perimeter', 'equivalentDiameter', 'circularity', 'convexity', 'solidity', 'feretMax', 'feretMin', 'majorAxis', 'minorAxis'];

function s(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function ringPath(ring) {
  return ring.length ? `M${ring.map((p) => `${p[0]},${p[1]}`).join('L')}Z` : '';
}

export async function openEditor(imageId, ui) {
  const { h, api, show, message, toast, onCleanup, onEvent } = ui;
  const image = await api('GET', `/api/v1/images/${imageId}`).catch((err) => { show(h('p', { class: 'error' }, message(err))); return null; });
  if (!image) return;
  const project = await api('GET', `/api/v1/projects/${image.projectId}`).catch(() => ({ myRole: 'viewer' }));
  const canEdit = project.myRole !== 'viewer';

  let polygons = [];
  let version = null;
  let selected = -1; // polygon index
  let activeVertex = null; // {ring, index} of the selected polygon; ring -1 = exterior
  let drawing = null; // [[x,y]...] while drawing
  let undo = [];
  let redo = [];
  let dirty = false;
  const view = { scale: 1, x: 0, y: 0 };

  const svg = s('svg', { id: 'canvas', role: 'img', 'aria-label': `${image.name} with its polygons`, tabindex: '0' });
  const layer = s('g', { id: 'layer' });
  // The display rendition (browsers cannot show TIFF or deep samples), of the plane the segmentation was made on.
  const img = s('image', { href: `/api/v1/images/${imageId}/display`, width: image.width, height: image.height });
  function showPlane(parameters) {
    const plane = ['page', 'channel', 'z', 't'].filter((k) => parameters && Number.isInteger(parameters[k]) && parameters[k] > 0)
      .map((k) => `${k}=${parameters[k]}`).join('&');
    img.setAttribute('href', `/api/v1/images/${imageId}/display${plane ? `?${plane}` : ''}`);
  }
  const shapes = s('g', { id: 'shapes' });
  const handles = s('g', { id: 'handles' });
  const draft = s('polyline', { class: 'draft' });
  layer.append(img, shapes, handles, draft);
  svg.append(layer);
  const stage = h('div', { class: 'stage' }, svg);

  const status = h('span', { class: 'badge', id: 'image-status', dataset: { status: image.status } }, image.status);
  const versions = h('select', { id: 'versions', 'aria-label': 'Version' });
  const info = h('div', { class: 'card', id: 'polygon-info' }, h('p', { class: 'muted' }, 'Hover or select a polygon to see its metrics.'));
  const saveButton = h('button', { class: 'primary', id: 'save', disabled: true, onclick: save }, 'Save as new version');
  const undoButton = h('button', { id: 'undo', disabled: true, onclick: () => step(undo, redo) }, 'Undo');
  const redoButton = h('button', { id: 'redo', disabled: true, onclick: () => step(redo, undo) }, 'Redo');
  const drawButton = h('button', { id: 'draw', onclick: toggleDraw }, 'Draw polygon');
  const deleteButton = h('button', { id: 'delete-polygon', class: 'danger', disabled: true, onclick: deleteSelection }, 'Delete');
  const count = h('span', { id: 'polygon-count', class: 'muted' });
  const side = h('aside', { class: 'side' },
    h('div', { class: 'card' }, h('div', { class: 'row' }, h('strong', {}, 'Version'), versions, status), count),
    canEdit ? h('div', { class: 'card row' }, undoButton, redoButton, drawButton, deleteButton, saveButton) : null,
    h('div', { class: 'card row' }, h('button', { onclick: () => zoom(1.25) , 'aria-label': 'Zoom in' }, '+'),
      h('button', { onclick: () => zoom(0.8), 'aria-label': 'Zoom out' }, '−'), h('button', { onclick: fit }, 'Fit')),
    info,
    h('p', { class: 'muted' }, 'Drag to pan, wheel to zoom. Select a polygon, drag its vertices; double-click an edge to add one; Delete removes the selected vertex or polygon; Ctrl+Z / Ctrl+Y undo and redo. Draw: click points, Enter or double-click to finish, Esc to cancel.'));
  show(h('p', {}, h('a', { href: `#/projects/${image.projectId}` }, '← Project'), ' · ', h('strong', { id: 'image-name' }, image.name)),
    h('div', { class: 'editor' }, stage, side));

  function applyView() { layer.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.scale})`); renderHandles(); }
  function fit() {
    const r = svg.getBoundingClientRect();
    view.scale = Math.min(r.width / image.width, r.height / image.height) || 1;
    view.x = (r.width - image.width * view.scale) / 2;
    view.y = (r.height - image.height * view.scale) / 2;
    applyView();
  }
  function zoom(factor, cx, cy) {
    const r = svg.getBoundingClientRect();
    const px = cx ?? r.width / 2, py = cy ?? r.height / 2;
    view.x = px - (px - view.x) * factor;
    view.y = py - (py - view.y) * factor;
    view.scale *= factor;
    applyView();
  }
  function toImage(event) {
    const r = svg.getBoundingClientRect();
    return [(event.clientX - r.left - view.x) / view.scale, (event.clientY - r.top - view.y) / view.scale];
  }

  function snapshot() { return JSON.stringify(polygons.map((p) => ({ id: p.id, class: p.class, exterior: p.exterior, holes: p.holes, metrics: p.metrics }))); }
  function record() { undo.push(snapshot()); redo = []; dirty = true; updateButtons(); }
  function step(from, to) {
    if (!from.length) return;
    to.push(snapshot());
    polygons = JSON.parse(from.pop());
    dirty = true;
    selected = Math.min(selected, polygons.length - 1);
    activeVertex = null;
    render();
  }
  function updateButtons() {
    undoButton.disabled = !undo.length;
    redoButton.disabled = !redo.length;
    saveButton.disabled = !dirty;
    deleteButton.disabled = selected < 0;
    count.textContent = `${polygons.length} polygon(s)${dirty ? ' · unsaved changes' : ''}`;
  }

  function render() {
    shapes.replaceChildren(...polygons.map((p, i) => {
      const path = s('path', { class: `poly${i === selected ? ' selected' : ''}`, d: ringPath(p.exterior) + p.holes.map(ringPath).join(''),
        'data-index': i, 'data-holes': p.holes.length });
      path.addEventListener('mouseenter', () => showMetrics(p, i));
      path.addEventListener('pointerdown', (e) => { if (drawing) return; e.stopPropagation(); select(i); });
      path.addEventListener('dblclick', (e) => { if (canEdit && i === selected) { e.stopPropagation(); addVertex(toImage(e)); } });
      return path;
    }));
    renderHandles();
    updateButtons();
    if (selected >= 0) showMetrics(polygons[selected], selected);
  }
  function renderHandles() {
    handles.replaceChildren();
    if (!canEdit || selected < 0 || !polygons[selected]) return;
    const p = polygons[selected];
    const r = 5 / view.scale;
    [p.exterior, ...p.holes].forEach((ring, ringIndex) => ring.forEach((pt, index) => {
      const isActive = activeVertex && activeVertex.ring === ringIndex - 1 && activeVertex.index === index;
      const c = s('circle', { class: `handle${isActive ? ' active' : ''}`, cx: pt[0], cy: pt[1], r, 'data-ring': ringIndex - 1, 'data-vertex': index });
      c.addEventListener('pointerdown', (e) => startVertexDrag(e, ringIndex - 1, index));
      handles.append(c);
    }));
  }
  function showMetrics(p, i) {
    const m = p.metrics || {};
    info.replaceChildren(h('strong', {}, `Polygon ${i + 1}`), h('span', { class: 'muted' }, ` ${p.class || 'spheroid'}, ${p.holes.length} hole(s)`),
      h('table', { class: 'metrics', id: 'metrics' }, h('tbody', {}, METRICS.filter((k) => m[k] !== undefined).map((k) =>
        h('tr', { dataset: { metric: k } }, h('td', {}, k), h('td', {}, Number(m[k]).toFixed(k === 'area' || k === 'perimeter' ? 1 : 3)))))),
      p.edited ? h('p', { class: 'muted' }, 'Edited: metrics are recomputed when saved.') : null);
  }
  function select(i) { selected = i; activeVertex = null; render(); }
  function ring(p, index) { return index < 0 ? p.exterior : p.holes[index]; }

  function startVertexDrag(event, ringIndex, index) {
    event.stopPropagation();
    event.preventDefault();
    activeVertex = { ring: ringIndex, index };
    const before = snapshot();
    let moved = false;
    const p = polygons[selected];
    const move = (e) => {
      const [x, y] = toImage(e);
      ring(p, ringIndex)[index] = [Math.round(x), Math.round(y)];
      if (!moved) { undo.push(before); redo = []; moved = true; }
      p.edited = true;
      dirty = true;
      shapes.children[selected].setAttribute('d', ringPath(p.exterior) + p.holes.map(ringPath).join(''));
      const c = handles.querySelector(`circle[data-ring="${ringIndex}"][data-vertex="${index}"]`);
      if (c) { c.setAttribute('cx', Math.round(x)); c.setAttribute('cy', Math.round(y)); }
    };
    const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); render(); };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    renderHandles();
  }
  function addVertex([x, y]) {
    const p = polygons[selected];
    let best = { d: Infinity, ring: -1, at: 0 };
    [p.exterior, ...p.holes].forEach((r, ri) => r.forEach((a, i) => {
      const b = r[(i + 1) % r.length];
      const dx = b[0] - a[0], dy = b[1] - a[1];
      const t = Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / (dx * dx + dy * dy || 1)));
      const d = Math.hypot(a[0] + t * dx - x, a[1] + t * dy - y);
      if (d < best.d) best = { d, ring: ri - 1, at: i + 1 };
    }));
    record();
    ring(p, best.ring).splice(best.at, 0, [Math.round(x), Math.round(y)]);
    p.edited = true;
    activeVertex = { ring: best.ring, index: best.at };
    render();
  }
  function deleteSelection() {
    if (selected < 0) return;
    const p = polygons[selected];
    record();
    if (activeVertex && ring(p, activeVertex.ring).length > 3) {
      ring(p, activeVertex.ring).splice(activeVertex.index, 1);
      p.edited = true;
      activeVertex = null;
    } else if (activeVertex && activeVertex.ring >= 0) {
      p.holes.splice(activeVertex.ring, 1); // a hole down to 3 vertices goes as a whole
      activeVertex = null;
    } else {
      polygons.splice(selected, 1);
      selected = -1;
      activeVertex = null;
    }
    render();
  }
  function toggleDraw() {
    if (drawing) { finishDraw(); return; }
    drawing = [];
    svg.classList.add('drawing');
    drawButton.textContent = 'Finish polygon';
  }
  function finishDraw(cancel = false) {
    const points = drawing || [];
    drawing = null;
    svg.classList.remove('drawing');
    draft.setAttribute('points', '');
    drawButton.textContent = 'Draw polygon';
    if (cancel || points.length < 3) return;
    record();
    polygons.push({ class: 'spheroid', exterior: points, holes: [], metrics: {}, edited: true });
    select(polygons.length - 1);
  }

  // pan, zoom, draw
  let pan = null;
  svg.addEventListener('pointerdown', (e) => {
    if (drawing) {
      drawing.push(toImage(e).map(Math.round));
      draft.setAttribute('points', drawing.map((p) => p.join(',')).join(' '));
      return;
    }
    pan = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, moved: false };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => {
    if (!pan) return;
    view.x = pan.vx + e.clientX - pan.x;
    view.y = pan.vy + e.clientY - pan.y;
    pan.moved = pan.moved || Math.abs(e.clientX - pan.x) + Math.abs(e.clientY - pan.y) > 3;
    applyView();
  });
  svg.addEventListener('pointerup', () => {
    if (pan && !pan.moved && selected >= 0) { selected = -1; activeVertex = null; render(); }
    pan = null;
  });
  svg.addEventListener('dblclick', () => { if (drawing) finishDraw(); });
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  const keys = (e) => {
    if (e.target.closest && e.target.closest('input, select, textarea')) return;
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && e.key.toLowerCase() === 'z' && !e.shiftKey) { e.preventDefault(); step(undo, redo); }
    else if (ctrl && (e.key.toLowerCase() === 'y' || (e.key.toLowerCase() === 'z' && e.shiftKey))) { e.preventDefault(); step(redo, undo); }
    else if (ctrl && e.key.toLowerCase() === 's') { e.preventDefault(); if (dirty) save(); }
    else if (canEdit && (e.key === 'Delete' || e.key === 'Backspace')) deleteSelection();
    else if (e.key === 'Enter' && drawing) finishDraw();
    else if (e.key === 'Escape') { if (drawing) finishDraw(true); else select(-1); }
    else if (e.key === '+' || e.key === '=') zoom(1.25);
    else if (e.key === '-') zoom(0.8);
    else if (e.key === 'Tab' && document.activeElement === svg && polygons.length) {
      e.preventDefault();
      select((selected + (e.shiftKey ? polygons.length - 1 : 1)) % polygons.length);
    }
  };
  window.addEventListener('keydown', keys);
  onCleanup(() => window.removeEventListener('keydown', keys));
  const leave = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', leave);
  onCleanup(() => window.removeEventListener('beforeunload', leave));

  async function load(v) {
    try {
      const seg = await api('GET', `/api/v1/images/${imageId}/segmentation${v ? `?version=${v}` : ''}`);
      polygons = seg.polygons.map((p) => ({ ...p, holes: p.holes || [] }));
      version = seg.version;
      showPlane(seg.parameters);
    } catch (err) {
      if (err.status !== 404) toast(message(err));
      polygons = [];
      version = null;
    }
    undo = []; redo = []; dirty = false; selected = -1; activeVertex = null;
    svg.dataset.version = version ?? '';
    render();
  }
  async function loadVersions() {
    try {
      const page = await api('GET', `/api/v1/images/${imageId}/segmentation/versions`);
      const items = page.items || page;
      versions.replaceChildren(...items.map((v) => h('option', { value: v.version, selected: v.version === version },
        `v${v.version} · ${v.segmenter} · ${v.polygonCount}`)));
    } catch { versions.replaceChildren(h('option', { value: '' }, 'none')); }
  }
  versions.addEventListener('change', async () => {
    if (dirty && !confirm('Discard unsaved changes?')) { versions.value = version; return; }
    await load(Number(versions.value));
  });
  async function save() {
    saveButton.disabled = true;
    try {
      const body = { polygons: polygons.map((p) => ({ id: p.id, class: p.class || 'spheroid', exterior: p.exterior, holes: p.holes })) };
      const seg = await api('PUT', `/api/v1/images/${imageId}/segmentation`, body);
      polygons = seg.polygons.map((p) => ({ ...p, holes: p.holes || [] }));
      version = seg.version;
      undo = []; redo = []; dirty = false;
      svg.dataset.version = version;
      render();
      await loadVersions();
      toast(`Saved as version ${version}.`);
    } catch (err) {
      toast(message(err));
      updateButtons();
    }
  }
  onEvent(async (event) => {
    if (event.type === 'image.status' && event.imageId === imageId) {
      status.dataset.status = event.status;
      status.textContent = event.status;
      if (event.status === 'segmented' && !dirty) { await load(); await loadVersions(); }
    }
  });

  requestAnimationFrame(fit);
  await load();
  await loadVersions();
  svg.dataset.ready = 'true';
}
