// tongxin safe voice: the filing page's client (issue 5).
//
// What runs here, on the cadre's side:
// - When the page opens (never in the moment before posting), for every scope the
//   cadre may choose: fetch the scope's issuer key for this month, refuse it unless its
//   record is in the transparency log (RFC 6962 inclusion proof against a checkpoint
//   whose Ed25519 note signature verifies under the log key this page embeds), blind the
//   allowance of token requests, take the allowance, unblind and verify every signature,
//   and keep the tokens in localStorage under the scope and period.
// - Filing: an anonymous report spends one token at POST /voice/reports with no cookie
//   (credentials: 'omit'); a report by name goes to POST /api/voice/reports.
//
// Privacy Pass token type 0x0002 (RFC 9578 §6): RSABSSA-SHA384-PSS-Deterministic of
// RFC 9474 (EMSA-PSS with SHA-384, MGF1-SHA-384, 48-byte salt, no message prefix),
// token_input = token_type || nonce || challenge_digest || token_key_id, the request
// carries the last byte of token_key_id. The arithmetic is BigInt; hashes, randomness
// and signature checks are WebCrypto. No other code is loaded: the SHA-256 of this file
// is shown on the page and published in the log.
'use strict';

(() => {
  // The primitives, for checking them against the RFCs' test vectors in the browser.
  // They hold no secret: the tokens live in localStorage, not here.
  globalThis.tongxinVoiceCrypto = Object.freeze({
    blind, finalize, parseSpki, rsaVerifier, verifyReceipt, os2ip, i2osp, modInv, hex,
  });
  const cfgEl = document.getElementById('voice-config');
  if (!cfgEl) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const zh = cfg.lang !== 'en';
  const t = (z, e) => (zh ? z : e);
  const enc = new TextEncoder();
  const $ = (id) => document.getElementById(id);

  // ----- bytes -----

  function b64dec(s) {
    let x = String(s).trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    if (!/^[A-Za-z0-9+/]*$/.test(x) || x.length % 4 === 1) throw new Error('bad base64');
    while (x.length % 4) x += '=';
    const bin = atob(x);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64enc(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  function random(n) {
    return crypto.getRandomValues(new Uint8Array(n));
  }

  async function digest(alg, data) {
    return new Uint8Array(await crypto.subtle.digest(alg, data));
  }

  // ----- big integers -----

  function os2ip(b) {
    let x = 0n;
    for (const v of b) x = (x << 8n) | BigInt(v);
    return x;
  }

  function i2osp(x, len) {
    const out = new Uint8Array(len);
    for (let i = len - 1; i >= 0; i--) {
      out[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    if (x !== 0n) throw new Error('integer too large');
    return out;
  }

  function modPow(b, e, m) {
    let r = 1n;
    b %= m;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % m;
      e >>= 1n;
      b = (b * b) % m;
    }
    return r;
  }

  function modInv(a, m) {
    let [r0, r1] = [a % m, m];
    let [s0, s1] = [1n, 0n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1] = [r1, r0 - q * r1];
      [s0, s1] = [s1, s0 - q * s1];
    }
    if (r0 !== 1n) return null;
    return ((s0 % m) + m) % m;
  }

  function gcd(a, b) {
    while (b !== 0n) [a, b] = [b, a % b];
    return a;
  }

  // ----- the issuer key: SPKI with id-RSASSA-PSS (RFC 9578 §6.5) -----

  function derItem(buf, pos) {
    const tag = buf[pos];
    let len = buf[pos + 1];
    let start = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 3) throw new Error('DER length');
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i];
      start += n;
    }
    const end = start + len;
    if (end > buf.length) throw new Error('DER truncated');
    return { tag, start, end };
  }

  const PSS_OID = Uint8Array.from([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a]);

  function parseSpki(spki) {
    const outer = derItem(spki, 0);
    if (outer.tag !== 0x30 || outer.end !== spki.length) throw new Error('SPKI: not a SEQUENCE');
    const algo = derItem(spki, outer.start);
    if (algo.tag !== 0x30) throw new Error('SPKI: no algorithm');
    const oid = derItem(spki, algo.start);
    if (oid.tag !== 0x06 || !equal(spki.subarray(oid.start, oid.end), PSS_OID)) {
      throw new Error('SPKI: not id-RSASSA-PSS');
    }
    const bits = derItem(spki, algo.end);
    if (bits.tag !== 0x03 || spki[bits.start] !== 0) throw new Error('SPKI: no key bits');
    const rsa = derItem(spki, bits.start + 1);
    if (rsa.tag !== 0x30) throw new Error('SPKI: no RSA key');
    const nItem = derItem(spki, rsa.start);
    const eItem = derItem(spki, nItem.end);
    if (nItem.tag !== 0x02 || eItem.tag !== 0x02) throw new Error('SPKI: bad integers');
    let nBytes = spki.subarray(nItem.start, nItem.end);
    while (nBytes.length > 0 && nBytes[0] === 0) nBytes = nBytes.subarray(1);
    const eBytes = spki.subarray(eItem.start, eItem.end);
    if (nBytes.length !== 256 || !(nBytes[0] & 0x80)) throw new Error('SPKI: modulus is not 2048 bits');
    return { n: os2ip(nBytes), e: os2ip(eBytes), nBytes, eBytes };
  }

  // ----- RFC 9474 blind RSA, RSABSSA-SHA384-PSS-Deterministic -----

  const HLEN = 48;
  const SLEN = 48;

  async function mgf1(seed, len) {
    const chunks = [];
    for (let c = 0; chunks.length * HLEN < len; c++) {
      chunks.push(await digest('SHA-384', concat(seed, i2osp(BigInt(c), 4))));
    }
    return concat(...chunks).subarray(0, len);
  }

  // EMSA-PSS-ENCODE (RFC 8017 §9.1.1) for a modulus of `k` bytes with its top bit set:
  // emBits = 8k - 1, so emLen = k and one leftmost bit is cleared. The salt is random
  // unless given (the RFC 9474 test vectors give it).
  async function pssEncode(msg, k, salt = random(SLEN)) {
    const emLen = k;
    const mHash = await digest('SHA-384', msg);
    const h = await digest('SHA-384', concat(new Uint8Array(8), mHash, salt));
    const db = new Uint8Array(emLen - HLEN - 1);
    db[emLen - SLEN - HLEN - 2] = 0x01;
    db.set(salt, emLen - SLEN - HLEN - 1);
    const mask = await mgf1(h, db.length);
    for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
    db[0] &= 0x7f;
    return concat(db, h, Uint8Array.of(0xbc));
  }

  // Uniform in [1, n): rejection sampling over integers of n's byte length.
  function randomBelow(n, k) {
    for (;;) {
      const r = os2ip(random(k));
      if (r > 0n && r < n) return r;
    }
  }

  // RFC 9474 §4.2 Blind. `salt` and `r` are random unless given (test vectors).
  async function blind(pk, msg, salt, r) {
    const k = pk.nBytes.length;
    const m = os2ip(await pssEncode(msg, k, salt));
    if (gcd(m, pk.n) !== 1n) throw new Error('blind: message not invertible');
    for (;;) {
      const rr = r === undefined ? randomBelow(pk.n, k) : r;
      const inv = modInv(rr, pk.n);
      if (inv === null) {
        if (r !== undefined) throw new Error('blind: r not invertible');
        continue;
      }
      const z = (m * modPow(rr, pk.e, pk.n)) % pk.n;
      return { blinded: i2osp(z, k), inv };
    }
  }

  // RFC 9474 §4.4 Finalize: unblind, then verify (RSASSA-PSS-VERIFY, through WebCrypto).
  async function finalize(pk, verifier, msg, blindSig, inv) {
    const k = pk.nBytes.length;
    const z = os2ip(blindSig);
    if (blindSig.length !== k || z >= pk.n) throw new Error('finalize: signature out of range');
    const sig = i2osp((z * inv) % pk.n, k);
    const ok = await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: SLEN }, verifier, sig, msg);
    if (!ok) throw new Error('finalize: the issuer signature does not verify');
    return sig;
  }

  function b64url(bytes) {
    return b64enc(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  async function rsaVerifier(pk) {
    const jwk = { kty: 'RSA', n: b64url(pk.nBytes), e: b64url(pk.eBytes), alg: 'PS384', ext: true };
    return crypto.subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['verify']);
  }

  // ----- the transparency log: c2sp.org/tlog-proof@v1 and signed notes -----

  async function leafHash(entry) {
    return digest('SHA-256', concat(Uint8Array.of(0), entry));
  }

  async function nodeHash(l, r) {
    return digest('SHA-256', concat(Uint8Array.of(1), l, r));
  }

  // RFC 9162 §2.1.3.2.
  async function rootFromInclusion(index, size, leaf, proof) {
    if (index >= size) throw new Error(t('索引超出日志大小', 'index beyond the tree size'));
    let fn = index;
    let sn = size - 1n;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0n) throw new Error(t('包含证明过长', 'inclusion proof too long'));
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new Error(t('包含证明过短', 'inclusion proof too short'));
    return r;
  }

  function parseVerifierKey(vkey) {
    // name+keyid+key: the base64 key may itself hold '+', so split at the first two.
    const a = vkey.indexOf('+');
    const b = vkey.indexOf('+', a + 1);
    if (a < 0 || b < 0) throw new Error('log key');
    const parts = [vkey.slice(0, a), vkey.slice(a + 1, b), vkey.slice(b + 1)];
    const raw = b64dec(parts[2]);
    if (raw.length !== 33 || raw[0] !== 0x01) throw new Error('log key is not Ed25519');
    return { name: parts[0], id: parts[1], pk: raw.subarray(1) };
  }

  async function verifyNote(note, vkey) {
    const split = note.lastIndexOf('\n\n');
    if (split < 0) throw new Error(t('检查点缺少签名', 'checkpoint has no signatures'));
    const text = note.slice(0, split + 1);
    const sigLines = note.slice(split + 2).split('\n').filter((l) => l !== '');
    const key = await crypto.subtle.importKey('raw', vkey.pk, { name: 'Ed25519' }, false, ['verify']);
    const idWanted = (await digest('SHA-256', concat(enc.encode(vkey.name + '\n'), Uint8Array.of(1), vkey.pk)))
      .subarray(0, 4);
    if (hex(idWanted) !== vkey.id) throw new Error('log key id');
    for (const line of sigLines) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m || m[1] !== vkey.name) continue;
      const sig = b64dec(m[2]);
      if (sig.length !== 68 || !equal(sig.subarray(0, 4), idWanted)) continue;
      if (await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.subarray(4), enc.encode(text))) return text;
    }
    throw new Error(t('检查点没有日志密钥的有效签名', 'the checkpoint is not signed by the log key'));
  }

  // Checks that `entry` (bytes) is in the log per the receipt text; returns the index.
  async function verifyReceipt(proofText, entry, vkeyText) {
    const vkey = parseVerifierKey(vkeyText);
    const lines = proofText.split('\n');
    if (lines[0] !== 'c2sp.org/tlog-proof@v1') throw new Error(t('不是日志收据', 'not a tlog-proof'));
    let i = 1;
    if (lines[i] && lines[i].startsWith('extra ')) i++;
    const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i] || '');
    if (!m) throw new Error(t('收据缺少索引', 'receipt has no index'));
    const index = BigInt(m[1]);
    i++;
    const proof = [];
    while (i < lines.length && lines[i] !== '') {
      const h = b64dec(lines[i]);
      if (h.length !== 32) throw new Error(t('证明哈希长度错误', 'bad proof hash'));
      proof.push(h);
      i++;
    }
    const note = lines.slice(i + 1).join('\n');
    const text = await verifyNote(note, vkey);
    const cp = text.split('\n');
    if (cp[0] !== vkey.name) throw new Error(t('检查点来源不符', 'checkpoint origin mismatch'));
    const size = BigInt(cp[1]);
    const root = b64dec(cp[2]);
    const computed = await rootFromInclusion(index, size, await leafHash(entry), proof);
    if (!equal(computed, root)) throw new Error(t('包含证明与检查点根不符', 'inclusion proof does not match the root'));
    return index;
  }

  // A response's JSON, or an error body naming the status when it is not JSON.
  async function jsonOf(r) {
    try {
      return await r.json();
    } catch {
      return { message_zh: `服务器返回 ${r.status}`, message_en: `the server answered ${r.status}` };
    }
  }

  // ----- the key of a scope, checked against its log record -----

  function recordField(record, name) {
    const line = record.split('\n').find((l) => l.startsWith(name + ' '));
    return line === undefined ? null : line.slice(name.length + 1);
  }

  async function checkedKey(scope, period) {
    const r = await fetch('/api/voice/keys/ensure', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope, period }),
    });
    const key = await jsonOf(r);
    if (!r.ok) throw new Error(zh ? key.message_zh : key.message_en);
    const spki = b64dec(key.token_key);
    const keyId = await digest('SHA-256', spki);
    if (hex(keyId) !== key.token_key_id) throw new Error(t('密钥标识不符', 'token_key_id mismatch'));
    const record = key.log_record;
    if (
      recordField(record, 'scope') !== scope ||
      recordField(record, 'period') !== period ||
      recordField(record, 'token-key-id') !== key.token_key_id ||
      !equal(b64dec(recordField(record, 'token-key') || ''), spki)
    ) {
      throw new Error(t('日志记录与发放密钥不符', 'the log record does not match the key'));
    }
    if (!cfg.log_key) throw new Error(t('本服务器未运行透明日志，拒绝使用密钥', 'no transparency log: key refused'));
    if (!key.proof) throw new Error(t('密钥尚未写入透明日志，拒绝使用', 'the key is not in the log yet: refused'));
    const index = await verifyReceipt(key.proof, enc.encode(record), cfg.log_key);
    if (key.log_index !== Number(index)) throw new Error(t('日志索引不符', 'log index mismatch'));
    const challenge = b64dec(key.challenge);
    return { key, spki, keyId, challenge, index };
  }

  // ----- the allowance -----

  const storageKey = (scope, period) => `tongxin.voice.tokens.v1.${scope}.${period}`;

  // The tokens kept for `scope` and `period` (this month's by default).
  function stored(scope, period = cfg.period) {
    try {
      const v = JSON.parse(localStorage.getItem(storageKey(scope, period)) || 'null');
      return v && Array.isArray(v.tokens) ? v : null;
    } catch {
      return null;
    }
  }

  function store(scope, v) {
    localStorage.setItem(storageKey(scope, v.period), JSON.stringify(v));
  }

  async function obtain(scope, period) {
    const k = await checkedKey(scope, period);
    const pk = parseSpki(k.spki);
    const verifier = await rsaVerifier(pk);
    const challengeDigest = await digest('SHA-256', k.challenge);
    const pending = [];
    for (let i = 0; i < cfg.allowance; i++) {
      const nonce = random(32);
      const input = concat(Uint8Array.of(0, 2), nonce, challengeDigest, k.keyId);
      const b = await blind(pk, input);
      const request = concat(Uint8Array.of(0, 2, k.keyId[31]), b.blinded);
      pending.push({ input, inv: b.inv, request: b64enc(request) });
    }
    const r = await fetch('/api/voice/allowance', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scope, period, requests: pending.map((p) => p.request) }),
    });
    const body = await jsonOf(r);
    if (!r.ok) {
      const err = new Error(zh ? body.message_zh : body.message_en);
      err.status = r.status;
      throw err;
    }
    if (body.responses.length !== pending.length) throw new Error('allowance size');
    const tokens = [];
    for (let i = 0; i < pending.length; i++) {
      const sig = await finalize(pk, verifier, pending[i].input, b64dec(body.responses[i]), pending[i].inv);
      tokens.push(b64enc(concat(pending[i].input, sig)));
    }
    const v = {
      scope,
      period,
      token_key_id: k.key.token_key_id,
      log_index: Number(k.index),
      obtained_at: Date.now(),
      tokens,
    };
    store(scope, v);
    return v;
  }

  // Tokens are spent only once they have been held for `cfg.hold_hours`: taking an
  // allowance and filing must not follow each other in time, or the two requests could be
  // matched by their timing. (Next month's allowance, taken in a month's last days, is
  // ready when the month starts.) Tokens stored before this rule have no date: usable.
  const usableFrom = (v) => (v.obtained_at || 0) + cfg.hold_hours * 3600 * 1000;
  const usable = (v) => Date.now() >= usableFrom(v);
  const whenText = (ms) => {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  };

  function showTokens(scope, text, cls) {
    const el = document.querySelector(`[data-token-status="${scope}"]`);
    if (el) {
      el.textContent = text;
      el.className = 'token-status ' + (cls || '');
    }
  }

  function tokenText(v, next) {
    let now = t(`本月匿名凭证：剩 ${v.tokens.length} 个`, `anonymous tokens this month: ${v.tokens.length} left`);
    if (!usable(v)) {
      now += t(`（${whenText(usableFrom(v))} 起可用）`, ` (usable from ${whenText(usableFrom(v))})`);
    }
    if (!next) return now;
    return now + t(`；下月 ${next.tokens.length} 个已备好`, `; next month's ${next.tokens.length} ready`);
  }

  // Tokens of past periods can no longer be spent: drop them.
  function dropPastPeriods() {
    const prefix = 'tongxin.voice.tokens.v1.';
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (!k || !k.startsWith(prefix)) continue;
      if (!k.endsWith('.' + cfg.period) && !(cfg.next_period && k.endsWith('.' + cfg.next_period))) {
        localStorage.removeItem(k);
      }
    }
  }

  async function prepareAll() {
    await prepareScopes();
    document.body.dataset.tokens = 'settled';
  }

  async function prepareScopes() {
    dropPastPeriods();
    // One scope after another, every scope the cadre may choose, whichever they use
    // (the preselected one first, so that it is ready soonest).
    const first = chosenScope();
    const order = cfg.scopes.filter((x) => x.choosable);
    order.sort((a, b) => (b.code === first) - (a.code === first));
    for (const s of order) {
      let have = stored(s.code);
      if (!have) {
        showTokens(s.code, t('正在核验密钥并领取凭证…', 'checking the key and taking tokens…'), 'busy');
        try {
          have = await obtain(s.code, cfg.period);
        } catch (e) {
          showTokens(s.code, refusal(e), 'bad');
          updateSubmit();
          continue;
        }
      }
      showTokens(s.code, tokenText(have), 'ok');
      updateSubmit();
    }
    // In a month's last days, next month's allowance too, so that the first report of
    // the month spends a token taken days before, not seconds before.
    if (!cfg.next_period) return;
    for (const s of order) {
      if (!stored(s.code)) continue;
      let next = stored(s.code, cfg.next_period);
      if (!next) {
        try {
          next = await obtain(s.code, cfg.next_period);
        } catch {
          continue; // this month's tokens stand; next month's are tried on the next visit
        }
      }
      showTokens(s.code, tokenText(stored(s.code), next), 'ok');
    }
  }

  function refusal(e) {
    return e.status === 409
      ? t('本月该范围的凭证已在别处领取；可在领取它们的浏览器中匿名提交，或实名提交。',
          'this month\'s tokens for this scope were taken elsewhere; file from that browser, or by name.')
      : e.message;
  }

  // ----- the form -----

  const form = $('voice-form');
  const cited = { demands: new Map(), bodies: new Map() };
  let demands = [];

  function chosenScope() {
    const r = form.querySelector('input[name="scope"]:checked');
    return r ? r.value : null;
  }

  function named() {
    return $('file-named').checked;
  }

  function updateSubmit() {
    const scope = chosenScope();
    const have = scope ? stored(scope) : null;
    const held = have && have.tokens.length > 0;
    const ready = named() || (held && usable(have));
    $('file-submit').disabled = !scope || !ready;
    $('file-mode').textContent = named()
      ? t('将以实名提交：受理部门会看到您的姓名。', 'Filed by name: the body will see who you are.')
      : held && usable(have)
        ? t('将匿名提交：不带登录信息，用一个凭证。', 'Filed anonymously: no sign-in is sent, one token is spent.')
        : held
          ? t(
              `凭证刚刚领取，${whenText(usableFrom(have))} 起才能匿名提交：领取与提交须相隔 ${cfg.hold_hours} 小时，以免二者按时间对上。现在可以先写好，或选择实名提交。`,
              `These tokens were just taken; anonymous filing opens at ${whenText(usableFrom(have))}. Taking tokens and filing must be ${cfg.hold_hours} hours apart, so the two cannot be matched by their timing. Draft now, or file by name.`,
            )
          : t('该范围尚无可用凭证。', 'No token ready for this scope.');
  }

  function costLine(d) {
    const c = d.cost || {};
    const parts = [];
    if (c.cadre_hours) parts.push(t(`每单位干部工时 ${c.cadre_hours} 小时`, `${c.cadre_hours} cadre-hours per unit`));
    if (c.cadres_required) parts.push(t(`需 ${c.cadres_required} 名干部参与`, `cadres required: ${c.cadres_required}`));
    if (c.host_person_days) parts.push(t(`接待 ${c.host_person_days} 人日`, `${c.host_person_days} host person-days`));
    if (c.visitors) parts.push(t(`来访 ${c.visitors} 人`, `${c.visitors} visitors`));
    if (c.forms) parts.push(t(`表格 ${c.forms} 张`, `${c.forms} forms`));
    if (c.fields && c.fields.length) parts.push(t(`数据项 ${c.fields.length} 个`, `${c.fields.length} data fields`));
    if (c.indicators) parts.push(t(`考核指标 ${c.indicators} 项`, `${c.indicators} indicators`));
    const when = (d.starts_at || '').slice(0, 10);
    const dated = when ? t(`（${when}）`, ` (${when})`) : '';
    const cost = parts.join(t('；', '; ')) || t('台账未记成本', 'no cost in the ledger');
    return `《${d.title}》${dated}${t('：', ': ')}${cost}`;
  }

  function renderCited() {
    const ul = $('cited-list');
    ul.textContent = '';
    const add = (kind, id, label) => {
      const li = document.createElement('li');
      li.className = 'cited-' + kind;
      li.textContent = label + ' ';
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link';
      b.textContent = t('移除', 'remove');
      b.addEventListener('click', () => {
        cited[kind].delete(id);
        renderCited();
      });
      li.appendChild(b);
      ul.appendChild(li);
    };
    for (const [id, d] of cited.demands) add('demands', id, t('事项：', 'Demand: ') + d.title);
    for (const [id, b] of cited.bodies) add('bodies', id, t('部门：', 'Body: ') + b.name);
  }

  function cite(kind, item) {
    if (cited[kind].has(item.id)) return;
    cited[kind].set(item.id, item);
    if (kind === 'demands') {
      const cost = $('f-cost');
      const line = costLine(item);
      cost.value = cost.value.trim() ? cost.value.replace(/\s+$/, '') + '\n' + line : line;
      const by = $('f-by_whom');
      if (item.source_name && !by.value.includes(item.source_name)) {
        by.value = by.value.trim() ? by.value.replace(/\s+$/, '') + t('；', '; ') + item.source_name : item.source_name;
      }
    }
    renderCited();
  }

  function search() {
    const q = $('cite-search').value.trim().toLowerCase();
    const ul = $('cite-results');
    ul.textContent = '';
    if (!q) return;
    const hits = [];
    for (const d of demands) {
      const hay = `${d.title} ${d.topic || ''} ${d.source_name || ''}`.toLowerCase();
      if (hay.includes(q)) hits.push(['demands', d, `${t('事项', 'Demand')} · ${d.title} · ${(d.starts_at || '').slice(0, 10)}`]);
      if (hits.length >= 8) break;
    }
    for (const b of cfg.bodies) {
      if (b.name.toLowerCase().includes(q)) hits.push(['bodies', b, `${t('部门', 'Body')} · ${b.name}`]);
      if (hits.length >= 14) break;
    }
    for (const [kind, item, label] of hits) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'link cite-hit cite-' + kind;
      b.textContent = label;
      b.addEventListener('click', () => cite(kind, item));
      li.appendChild(b);
      ul.appendChild(li);
    }
    if (!hits.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = t('台账中没有匹配的事项或部门', 'nothing in the ledger matches');
      ul.appendChild(li);
    }
  }

  async function loadDemands() {
    const bodyNames = new Map(cfg.bodies.map((b) => [b.id, b.name]));
    try {
      const from = new Date(Date.now() - 180 * 86400e3).toISOString().slice(0, 10);
      const r = await fetch(`/api/demands?cascade=1&limit=1000&from=${encodeURIComponent(from)}`, {
        credentials: 'same-origin',
      });
      if (!r.ok) return;
      const body = await r.json();
      demands = (body.items || []).map((d) => ({ ...d, source_name: bodyNames.get(d.source_body) || '' }));
    } catch {
      demands = [];
    }
  }

  function showErrors(body) {
    const box = $('file-error');
    const lines = [zh ? body.message_zh : body.message_en];
    for (const f of body.fields || []) lines.push(`${f.field}: ${zh ? f.zh : f.en}`);
    box.textContent = lines.filter(Boolean).join('\n');
    box.hidden = false;
  }

  async function file(ev) {
    ev.preventDefault();
    $('file-error').hidden = true;
    const scope = chosenScope();
    const addressed = $('f-addressed').value || null;
    const body = {
      scope,
      addressed_body: addressed,
      cited_demands: [...cited.demands.keys()],
      cited_bodies: [...cited.bodies.keys()],
      content: {
        demanded: $('f-demanded').value,
        by_whom: $('f-by_whom').value,
        cost: $('f-cost').value,
        fix: $('f-fix').value,
      },
    };
    $('file-submit').disabled = true;
    let r;
    let spent = null;
    try {
      if (named()) {
        r = await fetch('/api/voice/reports', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      } else {
        const have = stored(scope);
        if (!have || !have.tokens.length) throw new Error(t('该范围没有可用凭证', 'no token for this scope'));
        if (!usable(have)) {
          throw new Error(t(`凭证 ${whenText(usableFrom(have))} 起可用`, `tokens usable from ${whenText(usableFrom(have))}`));
        }
        spent = have.tokens[0];
        body.period = have.period;
        body.token = spent;
        r = await fetch('/voice/reports', {
          method: 'POST',
          credentials: 'omit',
          cache: 'no-store',
          referrerPolicy: 'no-referrer',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      }
    } catch (e) {
      showErrors({ message_zh: e.message, message_en: e.message });
      updateSubmit();
      return;
    }
    const out = await jsonOf(r);
    if (spent && (r.ok || r.status === 409 || r.status === 403)) {
      // Spent (or refused as spent or invalid): never offer this token again.
      const have = stored(scope);
      have.tokens = have.tokens.filter((x) => x !== spent);
      store(scope, have);
      showTokens(scope, tokenText(have), 'ok');
    }
    if (!r.ok) {
      showErrors(out);
      updateSubmit();
      return;
    }
    form.hidden = true;
    $('voice-intro').hidden = true;
    $('receipt-secret').textContent = out.receipt_secret;
    $('receipt-ref').textContent = out.report_ref;
    $('receipt-proof').textContent = out.proof || t('（日志检查点稍后生成；可凭回执码查看）', '(the log checkpoint comes shortly; see it with the receipt)');
    $('receipt-filed').textContent = new Date().toISOString().slice(0, 10);
    $('receipt').hidden = false;
    $('receipt').scrollIntoView();
  }

  for (const r of form.querySelectorAll('input[name="scope"]')) r.addEventListener('change', updateSubmit);
  $('file-named').addEventListener('change', updateSubmit);
  $('cite-search').addEventListener('input', search);
  $('print-receipt').addEventListener('click', () => window.print());
  form.addEventListener('submit', file);
  $('voice-js-needed').hidden = true;
  form.hidden = false;
  updateSubmit();
  loadDemands();
  prepareAll();
})();
