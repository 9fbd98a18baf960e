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

  document.addEventListener("DOMContentLoaded", function () {
    var specs = document.querySelector("[data-specs]");
    if (specs) initSpecs(specs);
    var gallery = document.querySelector(".gallery");
    if (gallery) initGallery(gallery);
    document.querySelectorAll("[data-countdown]").forEach(initCountdown);
  });
})();
