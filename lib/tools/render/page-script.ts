// The page's script (plain ES2017, inline): decodes the boards it is asked for from the page's
// data (page.ts, encodeBoard), draws boards 25 rows a page, users' pages, the search; keeps
// where it is in the address (#w=..&s=..&c=..&p=..), so a link or Back shows the same.
// Names only ever reach the page as textContent.
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('sb-data').textContent);
  var ROWS = 25;
  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var DIGIT = {};
  for (var i = 0; i < 64; i++) DIGIT[B64.charAt(i)] = i;
  var MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  function unvlq(s) {
    var out = [], n = 0, scale = 1;
    for (var i = 0; i < s.length; i++) {
      var d = DIGIT[s.charAt(i)];
      n += (d % 32) * scale;
      if (d >= 32) { scale *= 32; continue; }
      out.push(n % 2 === 1 ? -(n - 1) / 2 : n / 2);
      n = 0; scale = 1;
    }
    return out;
  }

  // The Old School RuneScape experience table: XP[L] reaches level L.
  var XP = [0, 0];
  (function () { var p = 0; for (var l = 1; l < 99; l++) { p += Math.floor(l + 300 * Math.pow(2, l / 7)); XP.push(Math.floor(p / 4)); } })();
  function levelFor(xp) { var lo = 1, hi = 99; while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (XP[mid] <= xp) lo = mid; else hi = mid - 1; } return lo; }

  var skillById = {}, userByName = {}, userByLower = {};
  D.skills.forEach(function (s) { skillById[s.id] = s; });
  D.users.forEach(function (u, i) { userByName[u] = i; userByLower[u.toLowerCase()] = i; });
  var lower = D.users.map(function (u) { return u.toLowerCase(); });

  var boards = {};
  function board(w, s, c) {
    var key = w + '|' + s + '|' + c + (S.g ? '|' + S.g : '');
    if (boards.hasOwnProperty(key)) return boards[key];
    var enc = D.boards[key];
    if (enc === undefined) return (boards[key] = null);
    var n = unvlq(enc), count = n[0], mode = n[1], scale = Math.pow(10, skillById[s].dec);
    var b = { user: new Int32Array(count), rank: new Float64Array(count), value: new Float64Array(count), xp: new Float64Array(count), level: new Int32Array(count), at: null };
    var p = 2, r = 0, v = 0, x = 0;
    for (var i = 0; i < count; i++) {
      b.user[i] = n[p++]; r += n[p++]; v -= n[p++]; x -= n[p++];
      b.rank[i] = r; b.value[i] = v / scale; b.xp[i] = x;
      b.level[i] = mode === 0 ? levelFor(x) : mode === 1 ? v : n[p++];
    }
    return (boards[key] = b);
  }
  function rowOf(b, u) {
    if (!b) return -1;
    if (!b.at) { b.at = {}; for (var i = 0; i < b.user.length; i++) if (!(b.user[i] in b.at)) b.at[b.user[i]] = i; }
    return u in b.at ? b.at[u] : -1;
  }

  var fmt0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  var fmt1 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  function value(v, dec) { return dec === 0 ? fmt0.format(v) : fmt1.format(v); }
  function short(v) { return v >= 1e6 ? (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M' : v >= 1e4 ? Math.round(v / 1e3) + 'k' : fmt0.format(v); }

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') e.textContent = attrs[k]; else if (k === 'cls') e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
    (kids || []).forEach(function (k) { if (k !== null) e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k); });
    return e;
  }
  function $(id) { return document.getElementById(id); }
  function label(list, id) { for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i].label; return id; }

  var S = { w: D.start.w, s: D.start.s, c: D.start.c, g: D.start.g || '', p: 0, q: '', u: D.start.u === undefined ? -1 : D.start.u, hl: -1 };
  function sinceOf() { return D.since[S.w + '|' + S.s + '|' + S.c + (S.g ? '|' + S.g : '')]; }
  function countedOf() { return D.counted[S.w + '|' + S.s + '|' + S.c + (S.g ? '|' + S.g : '')]; }

  function toHash() {
    var parts = [];
    if (S.u >= 0) parts.push('u=' + encodeURIComponent(D.users[S.u]));
    parts.push('w=' + encodeURIComponent(S.w), 's=' + S.s, 'c=' + encodeURIComponent(S.c));
    if (S.g) parts.push('g=' + encodeURIComponent(S.g));
    if (S.u < 0 && S.p > 0) parts.push('p=' + (S.p + 1));
    if (S.u < 0 && S.q) parts.push('q=' + encodeURIComponent(S.q));
    return '#' + parts.join('&');
  }
  function fromHash() {
    var h = location.hash.replace(/^#/, ''), got = {};
    h.split('&').forEach(function (kv) { var i = kv.indexOf('='); if (i > 0) { try { got[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); } catch (e) { /* a bad escape: ignored */ } } });
    var ok = function (list, id) { return list.some(function (x) { return x.id === id; }); };
    if (got.w && ok(D.windows, got.w)) S.w = got.w;
    if (got.c && ok(D.clusters, got.c)) S.c = got.c;
    if (got.s && skillById[got.s]) S.s = got.s;
    S.g = got.g && ok(D.groups, got.g) ? got.g : '';
    S.u = got.u !== undefined && userByName.hasOwnProperty(got.u) ? userByName[got.u] : -1;
    S.p = got.p ? Math.max(0, (parseInt(got.p, 10) || 1) - 1) : 0;
    S.q = got.q || '';
    $('q').value = S.q;
  }
  function go(change) {
    for (var k in change) S[k] = change[k];
    var h = toHash();
    if (location.hash !== h) history.pushState(null, '', h);
    draw();
  }

  function drawNav() {
    Array.prototype.forEach.call(document.querySelectorAll('#skills a'), function (a) {
      var on = a.getAttribute('data-skill') === S.s && S.u < 0;
      a.classList.toggle('on', on);
      if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    });
    [['windows', 'data-window', S.w], ['clusters', 'data-cluster', S.c], ['groups', 'data-group', S.g]].forEach(function (t) {
      Array.prototype.forEach.call($(t[0]).querySelectorAll('button'), function (b) {
        var on = b.getAttribute(t[1]) === t[2];
        b.classList.toggle('on', on);
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
      });
    });
  }

  function drawPicker() {
    var pick = $('account-pick');
    if (!pick) return;
    var one = S.g.indexOf('account/') === 0;
    pick.value = one ? S.g : '';
    pick.classList.toggle('on', one);
  }

  function matching(b) {
    var q = S.q.toLowerCase(), idx = [];
    for (var i = 0; i < b.user.length; i++) if (!q || lower[b.user[i]].indexOf(q) >= 0) idx.push(i);
    return idx;
  }

  function drawBoard() {
    var sk = skillById[S.s], b = board(S.w, S.s, S.c);
    $('board-title').replaceChildren(el('span', { cls: 'icon', 'aria-hidden': 'true', text: sk.icon }), ' ' + sk.title + ' ', el('small', { text: label(D.windows, S.w) + ' · ' + label(D.clusters, S.c) + (S.g ? ' · ' + label(D.groups, S.g) : '') }));
    var since = sinceOf();
    $('since').hidden = !since;
    $('since').textContent = since ? 'Accounts since ' + since + ': jobs counted before the store kept accounts are in no account.' : '';
    var counted = countedOf();
    $('counted').hidden = !counted;
    $('counted').textContent = counted || '';
    var head = $('board').tHead.rows[0];
    var ths = [el('th', { cls: 'num rank', text: 'Rank' }), el('th', { cls: 'name', text: S.g === 'accounts' ? 'Account' : 'Name' }), el('th', { cls: 'num level', text: 'Level' }), el('th', { cls: 'num xp', text: 'XP' })];
    if (S.s !== 'overall') ths.push(el('th', { cls: 'num value', text: sk.unit }));
    head.replaceChildren.apply(head, ths);
    var tbody = $('rows'), cols = S.s === 'overall' ? 4 : 5;
    var idx = b ? matching(b) : [];
    var pages = Math.max(1, Math.ceil(idx.length / ROWS));
    if (S.p >= pages) S.p = pages - 1;
    var trs = [];
    for (var k = S.p * ROWS; k < Math.min(idx.length, (S.p + 1) * ROWS); k++) {
      var i = idx[k], u = b.user[i];
      var a = el('a', { href: '#u=' + encodeURIComponent(D.users[u]), 'data-user': String(u), text: D.users[u] });
      var tr = el('tr', u === S.hl ? { cls: 'hl' } : null, [
        el('td', { cls: 'num rank', text: fmt0.format(b.rank[i]) }),
        el('td', { cls: 'name' }, [a]),
        el('td', { cls: 'num level' + (S.s !== 'overall' && b.level[i] >= 99 ? ' max' : ''), text: String(b.level[i]) }),
        el('td', { cls: 'num xp', text: fmt0.format(b.xp[i]) }),
        S.s === 'overall' ? null : el('td', { cls: 'num value', text: value(b.value[i], sk.dec) })
      ]);
      trs.push(tr);
    }
    if (trs.length === 0) trs.push(el('tr', null, [el('td', { colspan: String(cols), cls: 'empty', text: !b ? 'No board for this window and cluster' : S.q ? 'No name holds \u201c' + S.q + '\u201d' : 'No one on this board yet' })]));
    tbody.replaceChildren.apply(tbody, trs);
    var pager = $('pager');
    var btn = function (text, to, labelText) { var x = el('button', { type: 'button', 'aria-label': labelText, text: text }); x.disabled = to < 0 || to >= pages || to === S.p; x.addEventListener('click', function () { go({ p: to, hl: -1 }); }); return x; };
    pager.replaceChildren(btn('\u00ab', 0, 'First page'), btn('\u2039 Prev', S.p - 1, 'Previous page'), el('span', { cls: 'pos', text: 'Page ' + (S.p + 1) + ' of ' + pages + (S.q ? ' \u00b7 ' + idx.length + ' of ' + b.user.length + ' names' : '') }), btn('Next \u203a', S.p + 1, 'Next page'), btn('\u00bb', pages - 1, 'Last page'));
  }

  function chart(u) {
    var H = D.hist;
    if (S.g) return el('p', { cls: 'note', text: 'Monthly history is kept for users, on the user boards.' });
    if (!H) return el('p', { cls: 'note', text: 'No monthly history in this page.' });
    var scope = H.scopes[S.c];
    if (!scope) return el('p', { cls: 'note', text: 'No monthly history for this cluster.' });
    if (!H.cache) H.cache = {};
    var all = H.cache[S.c] || (H.cache[S.c] = unvlq(scope));
    var m = H.months.length, vals = all.slice(u * m, u * m + m);
    var max = Math.max.apply(null, vals.concat([0]));
    var NS = 'http://www.w3.org/2000/svg', W = 40 * m + 20, Ht = 150;
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + Ht);
    svg.setAttribute('width', String(W));
    svg.setAttribute('height', String(Ht));
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', H.title + ' per month');
    var add = function (tag, attrs, text) { var e = document.createElementNS(NS, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; svg.appendChild(e); return e; };
    add('line', { x1: 10, x2: W - 10, y1: 120.5, y2: 120.5, class: 'axis' });
    vals.forEach(function (v, i) {
      var h = max > 0 ? Math.round((v / max) * 100) : 0, x = 14 + i * 40;
      var bar = add('rect', { x: x, y: 120 - h, width: 32, height: Math.max(h, v > 0 ? 1 : 0), rx: 2, class: 'bar' });
      var title = document.createElementNS(NS, 'title');
      var mo = H.months[i];
      title.textContent = MON[+mo.slice(5, 7) - 1] + ' ' + mo.slice(0, 4) + ': ' + fmt0.format(v) + ' ' + H.unit;
      bar.appendChild(title);
      if (v > 0 && h > 14) add('text', { x: x + 16, y: 120 - h + 12, class: 'barval' }, short(v));
      add('text', { x: x + 16, y: 134, class: 'mon' }, MON[+mo.slice(5, 7) - 1]);
      if (i === 0 || mo.slice(5) === '01') add('text', { x: x + 16, y: 147, class: 'yr' }, mo.slice(0, 4));
    });
    return el('figure', { cls: 'history' }, [el('figcaption', { text: H.title + ' per month \u00b7 ' + label(D.clusters, S.c) + (max > 0 ? '' : ' \u00b7 none') }), svg]);
  }

  function drawUser() {
    var u = S.u, name = D.users[u];
    var rows = D.skills.map(function (sk) {
      var b = board(S.w, sk.id, S.c), i = rowOf(b, u);
      var link = el('a', { href: '#s=' + sk.id, 'data-goto': sk.id }, [el('span', { cls: 'icon', 'aria-hidden': 'true', text: sk.icon }), sk.title]);
      return el('tr', null, [
        el('td', { cls: 'skill' }, [link]),
        el('td', { cls: 'num rank', text: i < 0 ? '\u2013' : fmt0.format(b.rank[i]) }),
        el('td', { cls: 'num level' + (i >= 0 && sk.id !== 'overall' && b.level[i] >= 99 ? ' max' : ''), text: i < 0 ? '\u2013' : String(b.level[i]) }),
        el('td', { cls: 'num xp', text: i < 0 ? '\u2013' : fmt0.format(b.xp[i]) }),
        el('td', { cls: 'num value', text: i < 0 || sk.id === 'overall' ? '' : value(b.value[i], sk.dec) + ' ' + sk.unit })
      ]);
    });
    var table = el('table', { cls: 'hiscores personal' }, [
      el('thead', null, [el('tr', null, [el('th', { cls: 'skill', text: 'Skill' }), el('th', { cls: 'num rank', text: 'Rank' }), el('th', { cls: 'num level', text: 'Level' }), el('th', { cls: 'num xp', text: 'XP' }), el('th', { cls: 'num value', text: 'Value' })])]),
      el('tbody', null, rows)
    ]);
    var back = el('button', { type: 'button', cls: 'back', text: '\u2039 Back to the board' });
    back.addEventListener('click', function () { go({ u: -1 }); });
    $('user-view').replaceChildren(
      el('h2', { id: 'user-title' }, ['Personal scores for ', el('span', { cls: 'who', text: name }), ' ', el('small', { text: label(D.windows, S.w) + ' \u00b7 ' + label(D.clusters, S.c) })]),
      table, chart(u), back);
  }

  function draw() {
    drawNav();
    drawPicker();
    var user = S.u >= 0;
    $('board-view').hidden = user;
    $('user-view').hidden = !user;
    if (user) drawUser(); else drawBoard();
    document.title = (user ? D.users[S.u] + ' \u00b7 ' : skillById[S.s].title + ' \u00b7 ') + (S.g ? label(D.groups, S.g) + ' \u00b7 ' : '') + 'High Scores';
  }

  // A user's row on the board of skill s: the page it is on, highlighted.
  function openBoardAt(s, u) {
    var b = board(S.w, s, S.c), i = rowOf(b, u);
    go({ s: s, u: -1, q: '', hl: u, p: i < 0 ? 0 : Math.floor(i / ROWS) });
    $('q').value = '';
  }

  document.addEventListener('click', function (e) {
    var t = e.target.closest ? e.target.closest('a, button') : null;
    if (!t) return;
    if (t.hasAttribute('data-skill')) { e.preventDefault(); go({ s: t.getAttribute('data-skill'), u: -1, p: 0, hl: -1 }); }
    else if (t.hasAttribute('data-window')) { e.preventDefault(); go({ w: t.getAttribute('data-window'), p: 0 }); }
    else if (t.hasAttribute('data-cluster')) { e.preventDefault(); go({ c: t.getAttribute('data-cluster'), p: 0 }); }
    else if (t.hasAttribute('data-group')) { e.preventDefault(); go({ g: t.getAttribute('data-group'), p: 0, u: -1, hl: -1 }); }
    else if (t.hasAttribute('data-user')) { e.preventDefault(); go({ u: +t.getAttribute('data-user') }); }
    else if (t.hasAttribute('data-goto')) { e.preventDefault(); openBoardAt(t.getAttribute('data-goto'), S.u); }
  });
  $('search').addEventListener('submit', function (e) {
    e.preventDefault();
    var q = $('q').value.trim(), note = $('search-note');
    if (!q) { note.textContent = ''; go({ q: '', p: 0 }); return; }
    var exact = userByName.hasOwnProperty(q) ? userByName[q] : userByLower.hasOwnProperty(q.toLowerCase()) ? userByLower[q.toLowerCase()] : -1;
    if (exact >= 0) { note.textContent = ''; $('q').value = ''; go({ u: exact, q: '' }); return; }
    var n = 0; for (var i = 0; i < lower.length; i++) if (lower[i].indexOf(q.toLowerCase()) >= 0) n++;
    note.textContent = n === 0 ? 'No one is called \u201c' + q + '\u201d.' : 'No one is called \u201c' + q + '\u201d; ' + n + (n === 1 ? ' name holds' : ' names hold') + ' it.';
    go({ q: q, u: -1, p: 0 });
  });
  if ($('account-pick')) $('account-pick').addEventListener('change', function () { if (this.value) go({ g: this.value, p: 0, u: -1, hl: -1 }); else drawPicker(); });
  $('q').addEventListener('input', function () { if (S.u < 0) { S.q = this.value.trim(); S.p = 0; history.replaceState(null, '', toHash()); draw(); } });
  window.addEventListener('popstate', function () { fromHash(); draw(); });
  document.documentElement.classList.add('js');
  if (location.hash.length > 1) fromHash();
  draw();
})();
`;
