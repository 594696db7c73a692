// tongxin: anonymous rating of a directive's tasks (issue 6).
//
// Progressive enhancement of /directives/{id}/consult: rating by name is a plain form
// post and needs no script. Rating anonymously spends one Privacy Pass token from the
// wallet /static/voice.js keeps in localStorage (key tongxin.voice.tokens.v1.SCOPE.PERIOD,
// value {scope, period, tokens, obtained_at}); the token's scope must contain a target
// unit. The request carries the JSON body only: no cookie (credentials: 'omit'), and the
// token is removed from the wallet once the server has taken it or reports it spent.
// Tokens are used only after being held for hold_hours, as on the report page, so that
// taking an allowance and rating cannot be matched by their timing.
(() => {
  'use strict';
  const dataEl = document.getElementById('consult-data');
  const form = document.getElementById('consult-form');
  if (!dataEl || !form) return;
  const cfg = JSON.parse(dataEl.textContent);
  const zh = cfg.lang === 'zh';
  const t = (a, b) => (zh ? a : b);
  const PREFIX = 'tongxin.voice.tokens.v1.';
  const LEVELS = { 2: 'province', 4: 'city', 6: 'county', 9: 'township', 12: 'village' };
  const LEVEL_NAMES = {
    province: ['省级', 'province'],
    city: ['市级', 'city'],
    county: ['县级', 'county'],
    township: ['乡镇', 'township'],
    village: ['村（社区）', 'village'],
  };
  const button = document.getElementById('consult-anonymous');
  const levelLabel = document.getElementById('consult-level-label');
  const levelSelect = document.getElementById('consult-level');
  const status = document.getElementById('consult-token-status');
  const message = document.getElementById('consult-message');

  const usableFrom = (v) => (v.obtained_at || 0) + cfg.hold_hours * 3600 * 1000;

  // This period's wallets whose scope holds a target unit, with tokens left.
  function wallets() {
    const out = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith(PREFIX)) continue;
      try {
        const v = JSON.parse(localStorage.getItem(k));
        if (!v || !Array.isArray(v.tokens) || !v.tokens.length || v.period !== cfg.period) continue;
        if (!cfg.targets.some((c) => c.startsWith(v.scope))) continue;
        out.push({ key: k, v });
      } catch {
        // Not a wallet: leave it alone.
      }
    }
    return out;
  }

  function levelsIn(scope) {
    const set = new Set(cfg.targets.filter((c) => c.startsWith(scope)).map((c) => LEVELS[c.length]));
    return cfg.levels.filter((l) => set.has(l));
  }

  function chosen() {
    const now = Date.now();
    const ready = wallets().filter((w) => now >= usableFrom(w.v));
    return ready.length ? ready[0] : null;
  }

  function refresh() {
    const all = wallets();
    const w = chosen();
    if (!w) {
      button.hidden = true;
      levelLabel.hidden = true;
      status.textContent = all.length
        ? t('本浏览器中的匿名凭证尚未到可用时间（领取后须持有一段时间）。', 'The tokens in this browser are not usable yet (they are held for a while after they are obtained).')
        : t('本浏览器中没有可用于本文件的匿名凭证：可在“反映问题”页领取本月凭证。', 'No token in this browser fits this directive: obtain this month\'s tokens on the report page.');
      return;
    }
    const levels = levelsIn(w.v.scope);
    levelSelect.replaceChildren(
      ...levels.map((l) => {
        const o = document.createElement('option');
        o.value = l;
        o.textContent = t(LEVEL_NAMES[l][0], LEVEL_NAMES[l][1]);
        if (l === cfg.own_level) o.selected = true;
        return o;
      }),
    );
    button.hidden = false;
    levelLabel.hidden = false;
    status.textContent = t(
      `将使用范围 ${w.v.scope} 的匿名凭证（剩 ${w.v.tokens.length} 个）。`,
      `A token of scope ${w.v.scope} will be spent (${w.v.tokens.length} left).`,
    );
  }

  function ratings() {
    const out = [];
    for (const fs of form.querySelectorAll('fieldset[data-task]')) {
      const task = fs.dataset.task;
      const r = fs.querySelector(`input[name="rating.${CSS.escape(task)}"]:checked`);
      if (!r) continue;
      const c = fs.querySelector(`textarea[name="comment.${CSS.escape(task)}"]`);
      out.push({ task, rating: Number(r.value), comment: c ? c.value : '' });
    }
    return out;
  }

  function spend(w) {
    const v = JSON.parse(localStorage.getItem(w.key) || 'null');
    if (!v || !Array.isArray(v.tokens)) return;
    v.tokens.shift();
    localStorage.setItem(w.key, JSON.stringify(v));
  }

  async function submit() {
    const w = chosen();
    if (!w) return refresh();
    const items = ratings();
    if (!items.length) {
      message.textContent = t('请至少为一项任务打分。', 'Rate at least one task.');
      return;
    }
    button.disabled = true;
    try {
      const r = await fetch(`/directives/${cfg.id}/ratings`, {
        method: 'POST',
        credentials: 'omit',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          scope: w.v.scope,
          period: w.v.period,
          token: w.v.tokens[0],
          level: levelSelect.value,
          ratings: items,
        }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.status === 201 || r.status === 409) spend(w);
      if (r.status === 201) {
        message.textContent = t('已匿名提交，谢谢。', 'Submitted anonymously, thank you.');
        message.className = 'ok';
        form.querySelectorAll('input, textarea, button').forEach((e) => (e.disabled = true));
      } else {
        const fields = (body.fields || []).map((f) => `${f.field}: ${zh ? f.zh : f.en}`).join('；');
        message.textContent = (zh ? body.message_zh : body.message_en) + (fields ? `（${fields}）` : '');
        message.className = 'error';
        button.disabled = false;
      }
    } catch (e) {
      message.textContent = t('提交失败：', 'Could not submit: ') + e.message;
      message.className = 'error';
      button.disabled = false;
    }
    refresh();
  }

  button.addEventListener('click', submit);
  refresh();
})();

// The editor's live check (progressive enhancement of /directives/new and …/edit): a
// moment after the author stops typing, the document goes to POST /directives/panel and
// the check panel (feasibility, conflicts, burden) is replaced by the answer. Without
// this script the Check button does the same by reloading the page.
(() => {
  'use strict';
  const form = document.getElementById('directive-form');
  const text = document.getElementById('directive-toml');
  if (!form || !text || text.readOnly) return;
  let timer = null;
  let sent = 0;
  async function refresh() {
    const mine = ++sent;
    const body = new URLSearchParams({ toml: text.value, id: form.dataset.directive || '' });
    const panel = document.getElementById('check-panel');
    if (panel) panel.classList.add('checking');
    try {
      const r = await fetch('/directives/panel', { method: 'POST', credentials: 'same-origin', body });
      if (!r.ok || mine !== sent) return;
      const html = await r.text();
      const current = document.getElementById('check-panel');
      if (current && mine === sent) current.outerHTML = html;
      document.body.dataset.liveChecks = String(mine);
    } catch {
      // The network is gone: the Check button still works once it is back.
    } finally {
      const p = document.getElementById('check-panel');
      if (p) p.classList.remove('checking');
    }
  }
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 700);
  });
})();
