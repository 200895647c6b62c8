// SegHub's web UI: hash routes, sign in/up/out, projects, uploads, the live image grid, queueing, exports; and the
// pages that links in mail open (/reset-password, /verify-email, /invitations, each with ?token=…).
import { api, ApiError, Events, uploadFile } from './api.js';
import { openEditor } from './editor.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const STATUSES = ['new', 'queued', 'processing', 'segmented', 'failed'];
let me = null;
let events = null;
const listeners = new Set();

/** Creates an element: h('button', {class: 'primary', onclick}, 'Save'). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

/** A person-readable message for an API error. */
export function message(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  switch (error.code) {
    case 'INVALID_CREDENTIALS': return 'Wrong email or password.';
    case 'RATE_LIMITED':
      return error.retryAfter
        ? `Too many attempts. Please wait ${error.retryAfter} s and try again.`
        : 'Too many attempts. Please wait a moment and try again.';
    case 'EMAIL_TAKEN': return 'An account with this email already exists.';
    case 'EMAIL_NOT_VERIFIED': return 'Please confirm your address first: follow the link in the message we sent you.';
    case 'RESET_TOKEN_INVALID': return 'This link is used or expired. Ask for a new one below.';
    case 'VERIFICATION_TOKEN_INVALID': return 'This confirmation link is used or expired. Sign in, or ask for a new link.';
    case 'INVITATION_INVALID': return 'This invitation is no longer valid: it was accepted, revoked or replaced, or it expired.';
    case 'INVITATION_OTHER_ADDRESS': return 'This invitation is for another address.';
    default: return error.message;
  }
}

function show(...nodes) {
  for (const stop of cleanups.splice(0)) stop();
  for (const open of document.querySelectorAll('dialog[open]')) open.close(); // a dialog belongs to the page it was opened on
  main.replaceChildren(...nodes);
  main.focus({ preventScroll: true });
}
const cleanups = [];

function setNav() {
  nav.replaceChildren();
  if (me) {
    // Until the address is confirmed, projects shared with it wait: offer a new link.
    if (me.emailVerified === false) {
      nav.append(h('button', { id: 'confirm-address', title: 'Projects shared with your address wait until you confirm it', onclick: async () => {
        try {
          await api('POST', '/api/v1/auth/verify-email/resend', { email: me.email });
          toast(`We sent a new confirmation link to ${me.email}.`);
        } catch (err) { toast(message(err)); }
      } }, 'Confirm your address'));
    }
    nav.append(h('span', { class: 'muted', id: 'whoami' }, me.email),
      h('button', { id: 'signout', onclick: signOut }, 'Sign out'));
  }
}

async function signOut() {
  try { await api('POST', '/api/v1/auth/logout'); } catch { /* signed out anyway */ }
  me = null;
  if (events) { events.close(); events = null; }
  setNav();
  location.hash = '#/login';
}

function startEvents() {
  if (events) return;
  events = new Events((event) => { for (const l of listeners) l(event); },
    (state) => { document.body.dataset.socket = state; });
}

/** Subscribes to events until the current view is left. */
function onEvent(listener) {
  listeners.add(listener);
  cleanups.push(() => listeners.delete(listener));
}

// MARK: sign in / sign up

function authView(mode) {
  const isLogin = mode === 'login';
  const error = h('p', { class: 'error', id: 'auth-error', role: 'alert' });
  const form = h('form', { class: 'card narrow', id: `${mode}-form` },
    h('h1', {}, isLogin ? 'Sign in' : 'Create an account'),
    isLogin ? null : h('label', {}, 'Name', h('input', { name: 'name', autocomplete: 'name' })),
    h('label', {}, 'Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' })),
    h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, minlength: isLogin ? null : '8',
      autocomplete: isLogin ? 'current-password' : 'new-password' })),
    isLogin ? h('label', { class: 'inline' }, h('input', { name: 'rememberMe', type: 'checkbox' }), 'Remember me') : null,
    error,
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, isLogin ? 'Sign in' : 'Sign up'),
      h('span', { class: 'spacer' }),
      isLogin ? h('a', { href: '#/register' }, 'Create an account') : h('a', { href: '#/login' }, 'I have an account')),
    isLogin ? h('p', {}, h('a', { href: '#/forgot', id: 'forgot-link' }, 'Forgot your password?')) : null);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const data = Object.fromEntries(new FormData(form));
    const body = { email: data.email, password: data.password };
    if (isLogin) body.rememberMe = data.rememberMe === 'on';
    else if (data.name) body.name = data.name;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const session = await api('POST', isLogin ? '/api/v1/auth/login' : '/api/v1/auth/register', body, { retry: false });
      if (!session.user) { confirmationSentView(session.email || data.email); return; } // addresses must be confirmed first
      signedIn(session.user);
      if (!isLogin && !session.user.emailVerified) toast('Welcome! We sent you a link to confirm your address.');
      location.hash = '#/projects';
    } catch (err) {
      error.replaceChildren(fieldErrors(err));
      if (err instanceof ApiError && err.code === 'EMAIL_NOT_VERIFIED') error.append(' ', resendButton(data.email));
    } finally {
      button.disabled = false;
    }
  });
  show(form);
}

function signedIn(user) {
  me = user;
  setNav();
  startEvents();
}

/** An API error as text, naming each invalid field. */
function fieldErrors(err) {
  return err instanceof ApiError && err.code === 'VALIDATION_FAILED' && err.problem.errors
    ? err.problem.errors.map((x) => `${x.field}: ${x.detail}`).join('; ') : message(err);
}

function resendButton(email) {
  const button = h('button', { type: 'button', id: 'resend-verification' }, 'Send the link again');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api('POST', '/api/v1/auth/verify-email/resend', { email }, { retry: false });
      button.replaceWith(h('span', { role: 'status' }, 'If the address still has to be confirmed, a new link is on its way.'));
    } catch (err) { button.disabled = false; toast(message(err)); }
  });
  return button;
}

function confirmationSentView(email) {
  show(h('div', { class: 'card narrow', id: 'confirmation-sent' }, h('h1', {}, 'Check your mailbox'),
    h('p', {}, 'We sent a message to ', h('strong', {}, email), '. Follow its link to confirm the address, then sign in.'),
    h('p', { class: 'row' }, resendButton(email), h('span', { class: 'spacer' }), h('a', { href: '#/login' }, 'Sign in'))));
}

// MARK: pages opened from mail

/** A small form page: fields, a submit button and an error line; `onSubmit(data)` runs with the button disabled. */
function formPage(id, title, intro, fields, submitText, onSubmit, footer = null) {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card narrow', id }, h('h1', {}, title), intro ? h('p', {}, intro) : null, ...fields, error,
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, submitText), h('span', { class: 'spacer' }), footer));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try { await onSubmit(Object.fromEntries(new FormData(form)), error); } catch (err) { error.replaceChildren(fieldErrors(err)); } finally { button.disabled = false; }
  });
  return form;
}

function done(id, title, ...text) {
  show(h('div', { class: 'card narrow', id }, h('h1', {}, title), h('p', {}, ...text)));
}

function forgotView() {
  show(formPage('forgot-form', 'Forgot your password?', 'Enter the address of your account: we mail you a link to choose a new password.',
    [h('label', {}, 'Email', h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' }))],
    'Send the link', async (data) => {
      await api('POST', '/api/v1/auth/password-reset', { email: data.email }, { retry: false });
      done('forgot-sent', 'Check your mailbox', 'If an account has the address ', h('strong', {}, data.email),
        ', a message with a link is on its way. The link works for one hour.');
    }, h('a', { href: '#/login' }, 'Sign in')));
}

function resetView(token) {
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const again = h('input', { name: 'again', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  show(formPage('reset-form', 'Choose a new password', 'Every device signed in to your account is signed out.',
    [h('label', {}, 'New password', password), h('label', {}, 'New password again', again)], 'Set the password', async (data, error) => {
      if (data.password !== data.again) { error.textContent = 'The two passwords differ.'; return; }
      try {
        await api('POST', '/api/v1/auth/password-reset/confirm', { token, password: data.password }, { retry: false });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'RESET_TOKEN_INVALID') {
          error.replaceChildren(message(err), ' ', h('a', { href: '/#/forgot' }, 'Ask for a new link'));
          return;
        }
        throw err;
      }
      done('reset-done', 'Password changed', 'Your new password is set. ', h('a', { href: '/#/login', id: 'reset-signin' }, 'Sign in'));
    }));
}

async function verifyView(token) {
  show(h('p', { class: 'muted' }, 'Confirming your address…'));
  try {
    await api('POST', '/api/v1/auth/verify-email', { token }, { retry: false });
    done('verify-done', 'Address confirmed', 'Thank you: your address is confirmed, and projects shared with it are yours to open. ',
      h('a', { href: '/#/projects', id: 'verify-continue' }, 'Continue'));
  } catch (err) {
    done('verify-failed', 'This link did not work', message(err), ' ', h('a', { href: '/#/login' }, 'Sign in'));
  }
}

async function invitationView(token) {
  show(h('p', { class: 'muted' }, 'Loading the invitation…'));
  let invitation;
  try { invitation = await api('POST', '/api/v1/invitations/preview', { token }, { retry: false }); } catch (err) {
    done('invitation-invalid', 'Invitation', message(err), ' ', h('a', { href: '/#/login' }, 'Sign in'));
    return;
  }
  try { me = await api('GET', '/api/v1/auth/me'); } catch { me = null; }
  setNav();
  const by = invitation.invitedByName || invitation.invitedByEmail || 'Someone';
  const intro = h('p', {}, `${by} invited `, h('strong', {}, invitation.email), ' to the project ', h('strong', {}, invitation.projectName),
    ` as ${invitation.role}.`);
  async function accept() {
    const r = await api('POST', '/api/v1/invitations/accept', { token });
    location.assign(`/#/projects/${r.projectId}`);
  }
  if (me && me.email.toLowerCase() === invitation.email.toLowerCase()) {
    const error = h('p', { class: 'error', role: 'alert' });
    const button = h('button', { class: 'primary', id: 'invitation-accept', onclick: () => accept().catch((err) => { error.textContent = message(err); }) }, 'Accept');
    show(h('div', { class: 'card narrow', id: 'invitation' }, h('h1', {}, 'Invitation'), intro, error, button));
    return;
  }
  if (me) {
    show(h('div', { class: 'card narrow', id: 'invitation' }, h('h1', {}, 'Invitation'), intro,
      h('p', {}, `You are signed in as ${me.email}. Sign out, then open the link again to accept it as ${invitation.email}.`),
      h('button', { onclick: async () => { await signOut(); location.reload(); } }, 'Sign out')));
    return;
  }
  const email = () => h('input', { name: 'email', type: 'email', value: invitation.email, readonly: true, autocomplete: 'email' });
  const signUp = formPage('invitation-register', 'Join the project', intro,
    [h('label', {}, 'Email', email()), h('label', {}, 'Name', h('input', { name: 'name', autocomplete: 'name' })),
      h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' }))],
    'Create my account', async (data) => {
      const body = { email: invitation.email, password: data.password, invitationToken: token };
      if (data.name) body.name = data.name;
      const session = await api('POST', '/api/v1/auth/register', body, { retry: false });
      signedIn(session.user);
      location.assign(`/#/projects/${invitation.projectId}`);
    });
  const signIn = formPage('invitation-login', 'I have an account', null,
    [h('label', {}, 'Email', email()),
      h('label', {}, 'Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' }))],
    'Sign in and accept', async (data) => {
      const session = await api('POST', '/api/v1/auth/login', { email: invitation.email, password: data.password }, { retry: false });
      signedIn(session.user);
      await accept();
    }, h('a', { href: '/#/forgot' }, 'Forgot your password?'));
  show(signUp, signIn);
}

/** The page a mail link opened, or null on the app's own page. The token leaves the address bar (and history) at once. */
function mailLinkPage() {
  const pages = { '/reset-password': resetView, '/verify-email': verifyView, '/invitations': invitationView };
  const page = pages[location.pathname];
  if (!page || location.hash) return null;
  const token = new URLSearchParams(location.search).get('token') || '';
  history.replaceState(null, '', location.pathname);
  return () => page(token);
}

// MARK: projects

function counts(c) {
  return h('div', { class: 'counts' }, STATUSES.filter((s) => c[s]).map((s) => h('span', { class: 'badge', dataset: { status: s } }, `${c[s]} ${s}`)));
}

async function projectsView() {
  const list = h('ul', { class: 'projects', id: 'projects' });
  const error = h('p', { class: 'error', role: 'alert' });
  const name = h('input', { name: 'name', id: 'new-project-name', required: true, maxlength: '200', placeholder: 'New project name', 'aria-label': 'New project name' });
  const form = h('form', { class: 'row', id: 'new-project' }, name, h('button', { class: 'primary', type: 'submit' }, 'Create project'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const project = await api('POST', '/api/v1/projects', { name: name.value.trim() });
      location.hash = `#/projects/${project.id}`;
    } catch (err) { error.textContent = message(err); }
  });
  show(h('h1', {}, 'Projects'), form, error, list);
  try {
    const page = await api('GET', '/api/v1/projects?limit=200');
    if (!page.items.length) list.append(h('li', { class: 'muted' }, 'No projects yet: create one above.'));
    for (const p of page.items) {
      list.append(h('li', { class: 'card' }, h('a', { class: 'title', href: `#/projects/${p.id}` }, p.name),
        h('div', { class: 'muted' }, `${p.myRole} · ${new Date(p.createdAt).toLocaleDateString()}`), counts(p.imageCounts)));
    }
  } catch (err) { error.textContent = message(err); }
}

// MARK: one project

async function projectView(id) {
  const error = h('p', { class: 'error', role: 'alert' });
  let project;
  try { project = await api('GET', `/api/v1/projects/${id}`); } catch (err) { show(h('p', { class: 'error' }, message(err))); return; }
  const canEdit = project.myRole !== 'viewer';
  const title = h('h1', { id: 'project-name' }, project.name);
  const grid = h('ul', { class: 'grid', id: 'images', 'aria-label': 'Images' });
  const uploads = h('ul', { class: 'uploads', id: 'uploads' });
  const summary = h('div', { id: 'summary' });
  const images = new Map();

  function tile(image) {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${image.name}`, value: image.id });
    // A failed image says why on its badge (the last failed job's error).
    const badge = h('span', { class: 'badge', dataset: { status: image.status }, title: image.error || null }, image.status);
    const li = h('li', { class: 'tile', dataset: { id: image.id, name: image.name } }, box,
      h('a', { href: `#/images/${image.id}`, 'aria-label': `Open ${image.name}` },
        h('img', { src: `/api/v1/images/${image.id}/thumbnail`, alt: image.name, loading: 'lazy' })),
      h('div', { class: 'meta' }, h('span', { class: 'name', title: image.name }, image.name),
        image.pages > 1 ? h('span', { class: 'muted pages', title: 'Pages of the TIFF (choose one with "page")' }, `${image.pages} pages`) : null, badge));
    images.set(image.id, { image, li, badge });
    return li;
  }
  function setStatus(imageId, status) {
    const entry = images.get(imageId);
    if (!entry) return;
    entry.image.status = status;
    entry.badge.dataset.status = status;
    entry.badge.textContent = status;
    renderSummary();
  }
  function renderSummary() {
    const c = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const { image } of images.values()) c[image.status] += 1;
    summary.replaceChildren(counts(c));
  }
  let generation = 0;
  async function loadImages() {
    const mine = ++generation;
    const all = [];
    let cursor = '';
    do {
      const page = await api('GET', `/api/v1/projects/${id}/images?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    if (mine !== generation) return; // a newer load is under way
    images.clear();
    grid.replaceChildren(...all.map(tile));
    renderSummary();
  }

  // uploads
  const picker = h('input', { type: 'file', id: 'file-input', multiple: true, accept: 'image/png,image/jpeg,image/tiff,image/bmp,.tif,.tiff,.bmp', 'aria-label': 'Choose images' });
  const drop = h('div', { class: 'drop', id: 'drop' }, 'Drop PNG or JPEG images here, or ', picker);
  async function upload(files) {
    const queue = [...files];
    const rows = queue.map((file) => {
      const bar = h('progress', { max: '1', value: '0' });
      const state = h('span', { class: 'state' }, 'waiting');
      const li = h('li', { dataset: { name: file.name } }, h('span', { class: 'name' }, file.name), bar, state);
      uploads.append(li);
      return { file, bar, state, li };
    });
    // Two at a time: per-file progress and per-file errors.
    async function worker() {
      for (let row = rows.shift(); row; row = rows.shift()) {
        row.state.textContent = 'uploading';
        try {
          const result = await uploadFile(id, row.file, (p) => { row.bar.value = p; });
          row.bar.value = 1;
          if (result.errors && result.errors.length) {
            row.state.textContent = result.errors[0].detail || result.errors[0].code;
            row.state.className = 'state error';
            row.li.dataset.state = 'error';
          } else {
            row.state.textContent = 'done';
            row.li.dataset.state = 'done';
            for (const image of result.items) if (!images.has(image.id)) grid.append(tile(image));
            renderSummary();
          }
        } catch (err) {
          row.state.textContent = message(err);
          row.state.className = 'state error';
          row.li.dataset.state = 'error';
        }
      }
    }
    await Promise.all([worker(), worker()]);
  }
  picker.addEventListener('change', () => { upload(picker.files); picker.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); upload(e.dataTransfer.files); });

  // segmentation: the built-in segmenter, or a model of the server's registry (GET /api/v1/segmenters)
  const segmenter = h('select', { id: 'segmenter', 'aria-label': 'Segmenter' }, h('option', { value: 'builtin' }, 'Built-in'));
  const probability = h('input', {
    id: 'probability', type: 'number', min: '0.05', max: '0.95', step: '0.05', value: '0.5', class: 'num',
    'aria-label': 'Probability threshold', title: 'Foreground where the model is more sure than this', hidden: true,
  });
  api('GET', '/api/v1/segmenters').then((r) => {
    for (const s of r.items) {
      if (s.kind !== 'model') continue;
      segmenter.append(h('option', { value: s.name, title: s.description || s.name }, s.ready ? s.name : `${s.name} (not ready)`));
    }
  }).catch(() => { /* the built-in segmenter still works */ });
  const preset = h('select', { id: 'preset', 'aria-label': 'Preset' },
    h('option', { value: 'spheroid' }, 'Spheroids'), h('option', { value: 'nuclei' }, 'Nuclei (split touching)'));
  const threshold = h('select', { id: 'threshold', 'aria-label': 'Threshold' }, h('option', { value: '' }, 'preset threshold'),
    h('option', { value: 'otsu' }, 'Otsu'), h('option', { value: 'li' }, 'Li'), h('option', { value: 'triangle' }, 'Triangle'));
  const polarity = h('select', { id: 'polarity', 'aria-label': 'Polarity' }, ['auto', 'dark', 'bright'].map((p) => h('option', { value: p }, p)));
  const minArea = h('input', { id: 'min-area', type: 'number', min: '0', value: '50', class: 'num', 'aria-label': 'Minimum area (px)' });
  const fillHoles = h('input', { id: 'fill-holes', type: 'checkbox' });
  const page = h('input', { id: 'page', type: 'number', min: '0', placeholder: '0', class: 'num', 'aria-label': 'Page of multi-page TIFFs' });
  function selected() { return [...grid.querySelectorAll('input[type=checkbox]:checked')].map((b) => b.value); }
  function showSegmenterOptions() {
    const model = segmenter.value !== 'builtin';
    for (const control of [preset, threshold, polarity]) control.hidden = model;
    probability.hidden = !model;
  }
  segmenter.addEventListener('change', showSegmenterOptions);
  async function queue(all) {
    let body;
    if (segmenter.value !== 'builtin') {
      // A model: its registry entry supplies what is not set here.
      const parameters = { threshold: Number(probability.value || 0.5), minArea: Number(minArea.value || 0), holes: !fillHoles.checked };
      if (page.value !== '') parameters.selection = { page: Number(page.value) };
      body = { segmenter: segmenter.value, parameters };
    } else {
      // Only what the user chose: the preset supplies the rest.
      const parameters = { preset: preset.value, polarity: polarity.value, minArea: Number(minArea.value || 0) };
      if (threshold.value) parameters.threshold = threshold.value;
      if (fillHoles.checked) parameters.fillHoles = true;
      if (page.value !== '') parameters.page = Number(page.value);
      body = { parameters };
    }
    if (!all) {
      body.imageIds = selected();
      if (!body.imageIds.length) { toast('Select images first.'); return; }
    }
    try {
      const r = await api('POST', `/api/v1/projects/${id}/segmentations`, body);
      toast(`${r.queued} image(s) queued.`);
    } catch (err) { error.textContent = message(err); }
  }
  async function cancel() {
    try { const r = await api('DELETE', `/api/v1/projects/${id}/segmentations`); toast(`${r.cancelled} cancelled.`); } catch (err) { error.textContent = message(err); }
  }
  const segmentBar = h('div', { class: 'row card', id: 'segment-bar' },
    h('strong', {}, 'Segment'), segmenter, preset, threshold, polarity, probability, h('label', { class: 'inline' }, 'min area', minArea),
    h('label', { class: 'inline' }, fillHoles, 'fill holes'), h('label', { class: 'inline' }, 'page', page),
    h('button', { class: 'primary', id: 'segment-all', onclick: () => queue(true) }, 'Segment all new'),
    h('button', { id: 'segment-selected', onclick: () => queue(false) }, 'Segment selected'),
    h('button', { id: 'cancel-queue', onclick: cancel }, 'Cancel queued'));

  // project actions
  async function rename() {
    const next = prompt('New name', project.name);
    if (!next || next === project.name) return;
    try { project = await api('PATCH', `/api/v1/projects/${id}`, { name: next }); title.textContent = project.name; } catch (err) { error.textContent = message(err); }
  }
  async function remove() {
    if (!confirm(`Delete "${project.name}" and all its images? This cannot be undone.`)) return;
    try { await api('DELETE', `/api/v1/projects/${id}`); location.hash = '#/projects'; } catch (err) { error.textContent = message(err); }
  }
  const actions = h('div', { class: 'row' }, title, h('span', { class: 'spacer' }),
    h('button', { id: 'export-open', onclick: () => exportDialog(id) }, 'Export…'),
    canEdit ? h('button', { id: 'members-open', onclick: () => membersDialog(project) }, 'Members & sharing…') : null,
    project.myRole === 'owner' ? h('button', { id: 'project-rename', onclick: rename }, 'Rename') : null,
    project.myRole === 'owner' ? h('button', { id: 'project-delete', class: 'danger', onclick: remove }, 'Delete') : null);

  show(h('p', {}, h('a', { href: '#/projects' }, '← Projects')), actions, error, summary,
    canEdit ? drop : null, uploads, canEdit ? segmentBar : null, grid);
  onEvent((event) => {
    if (event.type === 'image.status' && event.projectId === id) setStatus(event.imageId, event.status);
    if (event.type === 'ready') loadImages().catch(() => {}); // reconnected: reload what may have been missed
  });
  try { await loadImages(); } catch (err) { error.textContent = message(err); }
}

// MARK: dialogs

function dialog(titleText, ...content) {
  const d = h('dialog', {}, h('h2', {}, titleText), ...content);
  document.body.append(d);
  d.addEventListener('close', () => d.remove());
  d.showModal();
  return d;
}

function exportDialog(projectId) {
  const formats = ['coco', 'yolo', 'geojson', 'csv', 'masks', 'spheroseg'];
  const checks = formats.map((f) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: f, checked: f === 'coco' || f === 'csv' }), f));
  const scale = h('input', { id: 'export-scale', type: 'number', step: 'any', min: '0', placeholder: 'µm per pixel (optional)' });
  const bar = h('progress', { id: 'export-progress', max: '1', value: '0', hidden: true });
  const status = h('p', { id: 'export-status', role: 'status' });
  const link = h('a', { id: 'export-download', class: 'button primary', download: '', hidden: true }, 'Download ZIP');
  const start = h('button', { class: 'primary', id: 'export-start' }, 'Start export');
  let timer = null;
  const d = dialog('Export', h('fieldset', {}, h('legend', {}, 'Formats'), checks), h('label', {}, 'Scale (µm/px)', scale), bar, status,
    h('div', { class: 'row' }, start, link, h('span', { class: 'spacer' }), h('button', { onclick: () => d.close() }, 'Close')));
  d.addEventListener('close', () => { clearInterval(timer); listeners.delete(listener); });
  let exportId = null;
  function update(e) {
    bar.hidden = false;
    bar.value = e.progress || 0;
    status.textContent = e.status === 'failed' ? `Failed: ${e.error || ''}` : `${e.status} ${Math.round((e.progress || 0) * 100)}%`;
    if (e.status === 'done') {
      clearInterval(timer);
      link.href = `/api/v1/exports/${exportId}/download`;
      link.hidden = false;
    }
  }
  function listener(event) { if (event.type === 'export.status' && event.exportId === exportId) update(event); }
  listeners.add(listener);
  start.addEventListener('click', async () => {
    const chosen = checks.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.name);
    if (!chosen.length) { status.textContent = 'Choose at least one format.'; return; }
    const body = { formats: chosen };
    if (scale.value) body.scaleUmPerPx = Number(scale.value);
    start.disabled = true;
    try {
      const e = await api('POST', `/api/v1/projects/${projectId}/exports`, body);
      exportId = e.id;
      update({ progress: 0, ...e });
      // Events are hints: poll as well, slowly.
      timer = setInterval(async () => { try { update(await api('GET', `/api/v1/exports/${exportId}`)); } catch { /* next time */ } }, 1500);
    } catch (err) { status.textContent = message(err); start.disabled = false; }
  });
}

function membersDialog(project) {
  const list = h('ul', { id: 'members' });
  const email = h('input', { type: 'email', placeholder: 'email', 'aria-label': 'Member email' });
  const role = h('select', { 'aria-label': 'Role' }, h('option', { value: 'editor' }, 'editor'), h('option', { value: 'viewer' }, 'viewer'));
  const out = h('p', { role: 'status', id: 'share-output' });
  async function act(method, path) {
    try { await api(method, path); load(); } catch (err) { out.textContent = message(err); }
  }
  // The owner's list also holds pending invitations (addresses without an account yet), shown by address only.
  async function load() {
    const page = await api('GET', `/api/v1/projects/${project.id}/members`);
    list.replaceChildren(...page.items.map((m) => m.pending
      ? h('li', { class: 'pending' }, `${m.email} (${m.role}) `, h('span', { class: 'badge' }, 'pending'), ' ',
        h('button', { onclick: () => act('DELETE', `/api/v1/projects/${project.id}/invitations/${m.invitationId}`) }, 'Revoke'))
      : h('li', {}, `${m.email} (${m.role}) `,
        m.role !== 'owner' && project.myRole === 'owner' ? h('button', { onclick: () => act('DELETE', `/api/v1/projects/${project.id}/members/${m.userId}`) }, 'Remove') : null)));
  }
  const add = h('form', { class: 'row' }, email, role, h('button', { type: 'submit' }, 'Add'));
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/api/v1/projects/${project.id}/members`, { email: email.value, role: role.value });
      out.textContent = `Added ${email.value.trim()}. We mailed them; an address without a confirmed account joins once it confirms.`;
      email.value = ''; load();
    } catch (err) { out.textContent = message(err); }
  });
  const linkRole = h('select', { 'aria-label': 'Link role' }, h('option', { value: 'viewer' }, 'viewer'), h('option', { value: 'editor' }, 'editor'));
  const linkEmail = h('input', { type: 'email', id: 'share-email', placeholder: 'email it to (optional)', 'aria-label': 'Email the link to' });
  const share = h('button', { id: 'share-create', onclick: async () => {
    const body = { role: linkRole.value, expiresInHours: 168 };
    if (linkEmail.value.trim()) body.email = linkEmail.value.trim();
    try {
      const r = await api('POST', `/api/v1/projects/${project.id}/share-links`, body);
      out.textContent = r.mailedTo
        ? `The link (valid a week, single use) was mailed to ${r.mailedTo}: ${location.origin}/#/share/${r.token}`
        : `Share this link (valid a week, single use): ${location.origin}/#/share/${r.token}`;
      linkEmail.value = '';
    } catch (err) { out.textContent = message(err); }
  } }, 'Create share link');
  const d = dialog('Members & sharing', list, add, h('div', { class: 'row' }, linkRole, linkEmail, share), out,
    h('button', { id: 'members-close', onclick: () => d.close() }, 'Close'));
  load().catch((err) => { out.textContent = message(err); });
}

async function acceptShare(token) {
  try {
    const r = await api('POST', `/api/v1/share-links/${encodeURIComponent(token)}/accept`);
    location.hash = `#/projects/${r.projectId}`;
  } catch (err) { show(h('p', { class: 'error' }, message(err))); }
}

// MARK: routing

async function route() {
  const mailPage = mailLinkPage();
  if (mailPage) return mailPage();
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  if (parts[0] === 'login' || parts[0] === 'register') { authView(parts[0]); return; }
  if (parts[0] === 'forgot') { forgotView(); return; }
  if (!me) {
    try { me = await api('GET', '/api/v1/auth/me'); } catch { me = null; }
    setNav();
    if (!me) {
      if (parts[0] === 'share') sessionStorage.setItem('afterLogin', location.hash);
      history.replaceState(null, '', '/'); // a mail page's path (its token already dropped) goes too
      location.hash = '#/login';
      return;
    }
    startEvents();
  }
  const after = sessionStorage.getItem('afterLogin');
  if (after) { sessionStorage.removeItem('afterLogin'); location.hash = after; return; }
  if (parts[0] === 'projects' && parts[1]) return projectView(parts[1]);
  if (parts[0] === 'images' && parts[1]) {
    show(h('p', { class: 'muted' }, 'Loading…'));
    return openEditor(parts[1], { main, show, h, api, message, toast, onCleanup: (f) => cleanups.push(f), onEvent });
  }
  if (parts[0] === 'share' && parts[1]) return acceptShare(parts[1]);
  return projectsView();
}

window.addEventListener('hashchange', route);
route();
