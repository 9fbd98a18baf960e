// Storefront behaviour. No inline scripts (CSP): everything hangs off data- attributes and the
// JSON data blocks that the templates render with Django's json_script filter.
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function priceHtml(yuan) {
    var parts = String(yuan).split(".");
    var span = document.createElement("span");
    span.className = "cur";
    span.textContent = "¥";
    var frag = document.createDocumentFragment();
    frag.appendChild(span);
    frag.appendChild(document.createTextNode(parts[0]));
    if (parts[1]) {
      var dec = document.createElement("span");
      dec.className = "dec";
      dec.textContent = "." + parts[1];
      frag.appendChild(dec);
    }
    return frag;
  }

  function setPrice(el, yuan) {
    if (!el) return;
    el.textContent = "";
    el.appendChild(priceHtml(yuan));
  }

  // ---- spec selector on the product page ------------------------------------------------
  // data: {dimensions: [{name, values: [...]}], variants: [{sku_id, sku_code, specs, price_yuan,
  // member_price_yuan, stock_available, available}], selected: sku_id, text: {...}}
  function initSpecs(root) {
    var data = readJson("variants");
    if (!data || !data.variants || !data.variants.length) return;
    var dims = data.dimensions || [];
    var variants = data.variants;
    var text = data.text || {};
    var selection = {};
    var initial = variants.filter(function (v) { return v.sku_id === data.selected; })[0] || variants[0];
    dims.forEach(function (d) { selection[d.name] = initial.specs[d.name]; });

    function matches(variant, sel, skipDim) {
      return dims.every(function (d) {
        if (d.name === skipDim || sel[d.name] === undefined || sel[d.name] === null) return true;
        return variant.specs[d.name] === sel[d.name];
      });
    }

    function current() {
      var complete = dims.every(function (d) { return selection[d.name] !== undefined && selection[d.name] !== null; });
      if (!complete) return null;
      return variants.filter(function (v) { return matches(v, selection); })[0] || null;
    }

    function render() {
      root.querySelectorAll(".spec-option").forEach(function (btn) {
        var dim = btn.dataset.dim, value = btn.dataset.value;
        var pressed = selection[dim] === value;
        btn.setAttribute("aria-pressed", pressed ? "true" : "false");
        var trial = Object.assign({}, selection);
        trial[dim] = value;
        var exists = variants.some(function (v) { return v.specs[dim] === value && matches(v, trial, dim); });
        btn.disabled = !exists;
        btn.title = exists ? "" : (text.no_combination || "");
      });
      var variant = current();
      var missing = dims.filter(function (d) { return selection[d.name] === undefined || selection[d.name] === null; })
        .map(function (d) { return d.name; });
      var priceEl = document.querySelector("[data-price]");
      var memberWrap = document.querySelector("[data-member-price-wrap]");
      var skuEl = document.querySelector("[data-sku-code]");
      var stockEl = document.querySelector("[data-stock]");
      var chosenEl = document.querySelector("[data-chosen]");
      var noteEl = document.querySelector("[data-buy-note]");
      var skuInput = document.querySelector("input[name=sku_id]");
      if (variant) {
        setPrice(priceEl, variant.price_yuan);
        if (memberWrap) {
          memberWrap.hidden = !variant.member_price_yuan;
          setPrice(memberWrap.querySelector("[data-member-price]"), variant.member_price_yuan || "0");
        }
        if (skuEl) skuEl.textContent = variant.sku_code;
        if (skuInput) skuInput.value = variant.sku_id;
        var hasStock = typeof variant.stock_available === "number" && variant.stock_available > 0;
        if (stockEl) {
          stockEl.textContent = hasStock ? (text.stock || "").replace("%s", variant.stock_available) : (text.no_stock || "");
          stockEl.className = "stock-line " + (hasStock ? "ok" : "none");
        }
        if (chosenEl) chosenEl.textContent = dims.map(function (d) { return selection[d.name]; }).join(" / ");
        if (noteEl) noteEl.textContent = hasStock ? (text.cart_soon || "") : (text.no_stock || "");
      } else {
        if (chosenEl) chosenEl.textContent = (text.choose || "") + " " + missing.join(" / ");
        if (stockEl) { stockEl.textContent = (text.choose || "") + " " + missing.join(" / "); stockEl.className = "stock-line none"; }
        if (noteEl) noteEl.textContent = (text.choose || "") + " " + missing.join(" / ");
        if (skuInput) skuInput.value = "";
      }
      document.dispatchEvent(new CustomEvent("mendian:variant", { detail: variant }));
    }

    root.addEventListener("click", function (event) {
      var btn = event.target.closest(".spec-option");
      if (!btn || btn.disabled) return;
      var dim = btn.dataset.dim, value = btn.dataset.value;
      if (selection[dim] === value && dims.length > 1) {
        selection[dim] = null;  // tap again to clear, which frees the other dimensions
      } else {
        selection[dim] = value;
        // Keep the other choices when they still make a real variant; otherwise clear them.
        dims.forEach(function (d) {
          if (d.name === dim || selection[d.name] === null || selection[d.name] === undefined) return;
          var ok = variants.some(function (v) { return matches(v, selection); });
          if (!ok) selection[d.name] = null;
        });
        // A single remaining choice is made for the customer.
        dims.forEach(function (d) {
          if (selection[d.name] !== null && selection[d.name] !== undefined) return;
          var options = {};
          variants.forEach(function (v) { if (matches(v, selection, d.name)) options[v.specs[d.name]] = true; });
          var keys = Object.keys(options);
          if (keys.length === 1) selection[d.name] = keys[0];
        });
      }
      render();
    });
    render();
  }

  // ---- gallery "1 / 3" counter ----------------------------------------------------------
  function initGallery(gallery) {
    var counter = document.querySelector("[data-gallery-count]");
    var total = gallery.children.length;
    if (!counter || total < 2) return;
    gallery.addEventListener("scroll", function () {
      var index = Math.round(gallery.scrollLeft / Math.max(1, gallery.clientWidth)) + 1;
      counter.textContent = Math.min(total, Math.max(1, index)) + " / " + total;
    }, { passive: true });
  }

  // ---- "send again in 60 s" on the SMS code button -----------------------------------------
  function initCountdown(btn) {
    var left = parseInt(btn.dataset.countdown, 10) || 0;
    if (left <= 0) return;
    var label = btn.textContent;
    var template = btn.dataset.countdownText || "%s s";
    btn.disabled = true;
    function tick() {
      if (left <= 0) { btn.disabled = false; btn.textContent = label; return; }
      btn.textContent = template.replace("%s", left);
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  }

  // ---- auto-submit controls (sort selects, toggles) ----------------------------------------
  document.addEventListener("change", function (event) {
    var el = event.target.closest("[data-autosubmit]");
    if (el && el.form) el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
  });

  // ---- buying: toasts, the cart bar, buy buttons, countdowns, checkout helpers ---------------
  function toast(text, kind) {
    var box = document.querySelector("[data-popups]");
    if (!box || !text) return;
    var el = document.createElement("div");
    el.className = "popup" + (kind === "error" ? " error" : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.style.opacity = "0"; }, 1600);
    setTimeout(function () { el.remove(); }, 2000);
  }
  // The server says what happened in an HX-Trigger header: {"mendian:toast": {text, kind}}.
  document.addEventListener("mendian:toast", function (event) {
    var detail = event.detail || {};
    toast(detail.text, detail.kind);
  });

  // After the cart bar is replaced, the tab bar's badge follows its count.
  document.addEventListener("htmx:afterSwap", function (event) {
    var bar = document.querySelector("[data-cartbar]");
    if (!bar) return;
    var count = parseInt(bar.dataset.count, 10) || 0;
    var tab = document.querySelector('.tabbar a[href$="/cart/"]');
    if (!tab) return;
    var dot = tab.querySelector("[data-tab-count]");
    if (!count) { if (dot) dot.remove(); return; }
    if (!dot) { dot = document.createElement("span"); dot.className = "dot"; dot.setAttribute("data-tab-count", ""); tab.appendChild(dot); }
    dot.textContent = count;
  });

  // The product page's buttons follow the chosen variant: no stock, no buying.
  document.addEventListener("mendian:variant", function (event) {
    var variant = event.detail;
    var ok = !!variant && typeof variant.stock_available === "number" && variant.stock_available > 0;
    document.querySelectorAll("[data-buy]").forEach(function (btn) {
      btn.disabled = !ok;
      if (ok) { btn.removeAttribute("aria-disabled"); btn.removeAttribute("title"); }
      else btn.setAttribute("aria-disabled", "true");
    });
  });

  // "剩余支付时间 14:59", then a reload once the deadline passed (the server cancels the order).
  function initDeadline(el) {
    var end = Date.parse(el.dataset.countdownTo);
    if (isNaN(end)) return;
    var template = el.dataset.template || "%s";
    function tick() {
      var left = Math.floor((end - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = el.dataset.expiredText || "";
        setTimeout(function () { window.location.reload(); }, 1500);
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = template.replace("%s", m + ":" + (s < 10 ? "0" : "") + s);
      setTimeout(tick, 1000);
    }
    tick();
  }

  // Forms that ask first (cancel an order).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  }, true);

  // One tap submits once (the server's idempotency key is the real guard).
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    var btn = form.querySelector("[data-submit]");
    if (!btn || (event.submitter && event.submitter !== btn)) return;
    setTimeout(function () {
      btn.disabled = true;
      if (btn.dataset.busyText) btn.textContent = btn.dataset.busyText;
    }, 0);
  });

  // Checkout: another address or pickup time reprices the order (a GET of the same form).
  document.addEventListener("change", function (event) {
    var el = event.target.closest("[data-autosubmit-soft]");
    if (!el || !el.form) return;
    var form = el.form, params = new URLSearchParams();
    ["type", "pickup_at", "address", "contact_name", "contact_phone", "note"].forEach(function (name) {
      var field = form.elements[name];
      if (!field) return;
      var value = field.value;
      if (field instanceof RadioNodeList || (field.length && !field.tagName)) {
        var checked = Array.prototype.filter.call(field, function (f) { return f.checked; })[0];
        value = checked ? checked.value : "";
      } else if (field.type === "radio") {
        value = field.checked ? field.value : "";
      }
      if (value) params.set(name, value);
    });
    window.location = form.getAttribute("action") + "?" + params.toString();
  });

  // New address: the browser's position (WGS-84; the server converts) for the radius check.
  document.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-locate-address]");
    if (!btn) return;
    var form = btn.form;
    var text = form.querySelector("[data-located-text]");
    if (!navigator.geolocation) { if (text) text.textContent = btn.dataset.failText; return; }
    var label = btn.textContent;
    btn.disabled = true;
    btn.textContent = btn.dataset.busyText || label;
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      form.elements.lng.value = pos.coords.longitude.toFixed(6);
      form.elements.coord_type.value = "wgs84";
      if (text) text.textContent = (btn.dataset.doneText || "") + " (" + pos.coords.latitude.toFixed(5) + ", " + pos.coords.longitude.toFixed(5) + ")";
      btn.disabled = false;
      btn.textContent = label;
    }, function () {
      if (text) text.textContent = btn.dataset.failText || "";
      btn.disabled = false;
      btn.textContent = label;
    }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var specs = document.querySelector("[data-specs]");
    if (specs) initSpecs(specs);
    var gallery = document.querySelector(".gallery");
    if (gallery) initGallery(gallery);
    document.querySelectorAll("[data-countdown]").forEach(initCountdown);
    document.querySelectorAll("[data-countdown-to]").forEach(initDeadline);
  });
})();
