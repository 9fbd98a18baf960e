// Store console operations: new-order alerts (badge, title, a WebAudio beep), the live queue's
// polling manners, one-shot buttons, stocktake variances and the pickup page's camera scan.
// No inline scripts (CSP); every page works without this file (the server checks everything).
(function () {
  "use strict";

  function $$(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }

  // --- sound: off until the clerk turns it on (browsers only let a page play after a gesture) ----
  var SOUND_KEY = "mendian.store.sound";
  var audio = null;

  function soundWanted() {
    try { return window.localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function audioContext() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }

  function beep() {
    if (!soundWanted()) return;
    var ctx = audioContext();
    if (!ctx || ctx.state !== "running") { renderToggle(); return; }
    // Two short rising tones: noticeable at a busy counter, not alarming.
    [0, 0.18].forEach(function (offset, index) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var start = ctx.currentTime + offset;
      osc.type = "sine";
      osc.frequency.value = index ? 1320 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.16);
    });
  }

  function renderToggle() {
    $$(document, "[data-sound-toggle]").forEach(function (button) {
      var on = soundWanted();
      var blocked = on && (!audio || audio.state !== "running");
      var label = button.querySelector("[data-sound-label]");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("on", on && !blocked);
      button.classList.toggle("blocked", blocked);
      if (label) label.textContent = blocked ? label.dataset.blocked : on ? label.dataset.on : label.dataset.off;
      var icon = button.querySelector("[data-sound-icon]");
      if (icon) icon.textContent = on && !blocked ? "🔔" : "🔕";
    });
  }

  function unlockAudio() {
    if (!soundWanted()) return;
    var ctx = audioContext();
    if (ctx && ctx.state !== "running") ctx.resume().then(renderToggle, renderToggle);
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-sound-toggle]");
    if (toggle) {
      var on = !soundWanted();
      try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
      if (on) {
        var ctx = audioContext();
        if (ctx) ctx.resume().then(function () { renderToggle(); beep(); }, renderToggle);
      }
      renderToggle();
      return;
    }
    unlockAudio();
  });
  document.addEventListener("keydown", unlockAudio);

  // --- new orders: the count travels in data-new-orders (queue and nav badge) ---------------------
  var SEEN_KEY = "mendian.store.newOrders";
  var baseTitle = document.title;

  function currentCount() {
    var counts = $$(document, "[data-new-orders]").map(function (el) { return parseInt(el.dataset.newOrders, 10) || 0; });
    return counts.length ? Math.max.apply(null, counts) : null;
  }

  function checkNewOrders() {
    var count = currentCount();
    if (count === null) return;
    var seen = parseInt(window.sessionStorage.getItem(SEEN_KEY) || "0", 10) || 0;
    if (count > seen) {
      beep();
      $$(document, "#nav-new-badge, [data-queue]").forEach(function (el) {
        el.classList.remove("pulse");
        void el.offsetWidth; // restart the animation
        el.classList.add("pulse");
      });
    }
    window.sessionStorage.setItem(SEEN_KEY, String(count));
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
  }

  // --- the live queue: never swap the board away under a clerk's hands ---------------------------
  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (!el || !el.matches || !el.matches("[data-queue]")) return;
    var active = document.activeElement;
    var typing = active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (typing || el.querySelector("details[open]")) event.preventDefault();
  });
  document.addEventListener("htmx:afterSettle", checkNewOrders);

  // --- one-shot buttons and per-button confirmations -------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm-button]");
    if (button && !window.confirm(button.dataset.confirmButton)) event.preventDefault();
  });
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    $$(form, "button[data-once]").forEach(function (button) {
      // After this tick, so the button's own name/value still goes with the form.
      window.setTimeout(function () { button.disabled = true; button.classList.add("busy"); }, 0);
    });
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[data-autosubmit-check]")) target.form.submit();
  });

  // --- stocktake: the variance follows what is typed -------------------------------------------------
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("count-input")) return;
    var row = input.closest("tr[data-expected]");
    var cell = row && row.querySelector("[data-variance]");
    if (!cell) return;
    var expected = parseInt(row.dataset.expected, 10);
    var value = input.value.trim() === "" ? NaN : parseInt(input.value, 10);
    if (isNaN(value)) { cell.textContent = "—"; cell.className = cell.className.replace(/ (plus|minus)/g, ""); return; }
    var diff = value - expected;
    cell.textContent = diff > 0 ? "+" + diff : String(diff);
    cell.classList.toggle("plus", diff > 0);
    cell.classList.toggle("minus", diff < 0);
  });

  // --- pickup: camera scan of the customer's QR code --------------------------------------------------
  function setupScan(box) {
    var form = document.querySelector("[data-pickup-form]");
    var input = form && form.querySelector("input[name=code]");
    if (!form || !input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    box.hidden = false;
    var view = box.querySelector("[data-scan-view]");
    var video = box.querySelector("[data-scan-video]");
    var status = box.querySelector("[data-scan-status]");
    var startBtn = box.querySelector("[data-scan-start]");
    var stream = null, running = false, detector = null, canvas = null;

    function say(key) { status.textContent = status.dataset[key] || ""; }

    function stop() {
      running = false;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      view.hidden = true;
      startBtn.hidden = false;
    }

    function found(text) {
      var code = String(text || "").replace(/[\s-]/g, "");
      if (!/^\d{6,12}$/.test(code)) return false;
      stop();
      say("found");
      input.value = code;
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
      return true;
    }

    function loadJsQR() {
      return new Promise(function (resolve, reject) {
        if (window.jsQR) return resolve(window.jsQR);
        var script = document.createElement("script");
        script.src = box.dataset.jsqr;
        script.onload = function () { window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR")); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }

    function makeDetector() {
      if (!("BarcodeDetector" in window)) return Promise.resolve(null);
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
      }, function () { return null; });
    }

    function tick() {
      if (!running) return;
      if (video.readyState < 2) { window.requestAnimationFrame(tick); return; }
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (!(codes.length && found(codes[0].rawValue))) window.setTimeout(tick, 150);
        }, function () { window.setTimeout(tick, 300); });
        return;
      }
      canvas = canvas || document.createElement("canvas");
      var scale = Math.min(1, 640 / (video.videoWidth || 640));
      canvas.width = Math.floor(video.videoWidth * scale);
      canvas.height = Math.floor(video.videoHeight * scale);
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var result = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (!(result && found(result.data))) window.setTimeout(tick, 150);
    }

    startBtn.addEventListener("click", function () {
      say("starting");
      makeDetector()
        .then(function (native) {
          detector = native;
          return native ? null : loadJsQR();
        })
        .then(function () {
          return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
        })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          view.hidden = false;
          startBtn.hidden = true;
          running = true;
          say("scanning");
          return video.play();
        })
        .then(tick)
        .catch(function () { stop(); say("denied"); input.focus(); });
    });
    box.querySelector("[data-scan-stop]").addEventListener("click", function () { stop(); status.textContent = ""; });
  }

  function init() {
    renderToggle();
    checkNewOrders();
    $$(document, "[data-scan]").forEach(setupScan);
    // A refused code stays in the box, selected: the next one typed replaces it.
    var refused = document.querySelector(".code-input.invalid");
    if (refused) { refused.focus(); refused.select(); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
