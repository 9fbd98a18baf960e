// Console behaviour (HQ and store). No inline scripts (CSP): everything hangs off data- attributes,
// and every page still works without it (the server checks and explains everything again).
(function () {
  "use strict";

  function $(root, selector) { return root.querySelector(selector); }
  function $$(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }

  // --- confirmations: <form data-confirm="…"> ----------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // --- selects that apply at once: <form data-autosubmit>, <select data-autosubmit-select> ----------
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.tagName !== "SELECT") return;
    if (target.matches("[data-autosubmit-select]") || target.closest("form[data-autosubmit]")) {
      target.form.submit();
    }
  });

  // --- opening-hours editor --------------------------------------------------------------------
  function updateSpanChips(row) {
    var inputs = $$(row, "input[type=time]");
    var opens = inputs[0].value, closes = inputs[1].value;
    var nextDay = $(row, "[data-next-day]"), fullDay = $(row, "[data-full-day]");
    if (nextDay) nextDay.classList.toggle("hidden", !(opens && closes && closes < opens));
    if (fullDay) fullDay.classList.toggle("hidden", !(opens && closes && closes === opens));
  }

  function applyMode(day) {
    var checked = $(day, "input[data-mode]:checked");
    var mode = checked ? checked.value : "spans";
    var spans = $(day, "[data-spans]");
    if (spans) spans.hidden = mode !== "spans";
    var allday = $(day, "[data-allday-note]"), closed = $(day, "[data-closed-note]");
    if (allday) allday.hidden = mode !== "allday";
    if (closed) closed.hidden = mode !== "closed";
  }

  function newSpanRow(editor, day, opens, closes) {
    var template = $(editor, "template[data-span-template]");
    var row = template.content.firstElementChild.cloneNode(true);
    var prefix = "h" + day.dataset.day;
    $$(row, "input[data-name]").forEach(function (input) {
      input.name = prefix + "-" + input.dataset.name;
      input.removeAttribute("data-name");
    });
    var inputs = $$(row, "input[type=time]");
    inputs[0].value = opens || "";
    inputs[1].value = closes || "";
    updateSpanChips(row);
    return row;
  }

  function addSpan(editor, day, opens, closes) {
    var row = newSpanRow(editor, day, opens, closes);
    var addButton = $(day, "[data-add-span]");
    addButton.parentNode.insertBefore(row, addButton);
    return row;
  }

  function initHoursEditor(editor) {
    $$(editor, "fieldset[data-day]").forEach(function (day) {
      applyMode(day);
      $$(day, "[data-span]").forEach(updateSpanChips);
    });
    editor.addEventListener("change", function (event) {
      var day = event.target.closest("fieldset[data-day]");
      if (!day) return;
      if (event.target.matches("input[data-mode]")) applyMode(day);
    });
    editor.addEventListener("input", function (event) {
      var row = event.target.closest("[data-span]");
      if (row) updateSpanChips(row);
    });
    editor.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var day = button.closest("fieldset[data-day]");
      if (button.matches("[data-add-span]")) {
        var row = addSpan(editor, day, "", "");
        $(row, "input").focus();
      } else if (button.matches("[data-remove-span]")) {
        var rows = $$(day, "[data-span]");
        var current = button.closest("[data-span]");
        if (rows.length > 1) {
          current.remove();
        } else {
          $$(current, "input").forEach(function (input) { input.value = ""; });
          updateSpanChips(current);
        }
      } else if (button.matches("[data-copy-all]")) {
        copyFirstDay(editor);
      }
    });
  }

  function copyFirstDay(editor) {
    var days = $$(editor, "fieldset[data-day]");
    var first = days[0];
    var mode = ($(first, "input[data-mode]:checked") || {}).value || "spans";
    var spans = $$(first, "[data-span]").map(function (row) {
      var inputs = $$(row, "input[type=time]");
      return [inputs[0].value, inputs[1].value];
    });
    days.slice(1).forEach(function (day) {
      var radio = $(day, "input[data-mode][value=" + mode + "]");
      if (radio) radio.checked = true;
      $$(day, "[data-span]").forEach(function (row) { row.remove(); });
      (spans.length ? spans : [["", ""]]).forEach(function (span) { addSpan(editor, day, span[0], span[1]); });
      applyMode(day);
    });
  }

  // --- special day form: hours only for "特殊营业时间" ---------------------------------------------
  function initSpecialForm(form) {
    function apply() {
      var kind = ($(form, "input[name=kind]:checked") || {}).value;
      $$(form, "[data-special-hours]").forEach(function (field) { field.hidden = kind !== "hours"; });
    }
    form.addEventListener("change", apply);
    apply();
  }

  // --- product variants table ------------------------------------------------------------------
  function initVariants(table) {
    var form = table.closest("form");
    var body = $(table, "[data-variant-body]");
    var template = $(form, "template[data-variant-template]");
    var total = $(form, "input[name$='-TOTAL_FORMS']");
    var placeholder = {1: "", 2: "", 3: ""};

    function specName(slot) {
      var input = $(form, "input[data-spec-name='" + slot + "']");
      return input ? input.value.trim() : "";
    }

    function applySpecNames() {
      [1, 2, 3].forEach(function (slot) {
        var name = specName(slot);
        var label = $(table, "[data-spec-label='" + slot + "']");
        if (label) {
          if (!placeholder[slot]) placeholder[slot] = label.dataset.fallback || label.textContent;
          label.dataset.fallback = placeholder[slot];
          label.textContent = name || placeholder[slot];
        }
        // A column shows when its spec has a name, or when a row already has a value in it.
        var hasValue = $$(table, "td[data-spec-col='" + slot + "'] input").some(function (i) { return i.value.trim(); });
        $$(table, "[data-spec-col='" + slot + "']").forEach(function (cell) {
          cell.classList.toggle("spec-off", !name && !hasValue);
          if (cell.tagName === "TD") cell.dataset.label = name || placeholder[slot];
        });
      });
    }

    form.addEventListener("input", function (event) {
      if (event.target.matches("input[data-spec-name]")) applySpecNames();
    });

    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.matches("[data-add-variant]")) {
        var index = parseInt(total.value, 10) || 0;
        var html = template.innerHTML.replace(/__prefix__/g, String(index));
        var holder = document.createElement("tbody");
        holder.innerHTML = html.trim();
        var row = holder.firstElementChild;
        body.appendChild(row);
        total.value = String(index + 1);
        applySpecNames();
        var first = $$(row, "input:not([type=hidden])").filter(function (input) {
          return !input.closest(".spec-off");
        })[0];
        if (first) first.focus();
      } else if (button.matches("[data-remove-variant]")) {
        var rows = $$(body, "[data-variant-row]");
        var current = button.closest("[data-variant-row]");
        if (rows.length > 1) {
          // A missing form index is an empty form for Django: the SKU is no longer named, so the
          // service stops selling it (orders that used it keep their history).
          current.remove();
        } else {
          $$(current, "input:not([type=hidden])").forEach(function (input) { input.value = ""; });
        }
      }
    });
    applySpecNames();
  }

  // --- staff form: store / merchant only for the roles that have one ---------------------------------
  function initStaffForm(form) {
    var role = $(form, "select[data-role-select]");
    if (!role) return;
    function apply() {
      $$(form, "[data-show-for]").forEach(function (field) {
        var roles = field.dataset.showFor.split(" ");
        field.hidden = roles.indexOf(role.value) === -1;
      });
    }
    role.addEventListener("change", apply);
    apply();
  }

  // --- listings table ---------------------------------------------------------------------------
  function initListings(root) {
    root.addEventListener("change", function (event) {
      if (event.target.matches("[data-listed-toggle]")) {
        var group = event.target.closest("[data-product-group]");
        if (group) group.classList.toggle("delisted", !event.target.checked);
      }
    });
    root.addEventListener("input", function (event) {
      if (event.target.matches(".price-input")) {
        event.target.classList.toggle("overridden", event.target.value.trim() !== "");
      }
    });
  }

  // Errors must not fade away like the success toasts: they move into the page, above the content.
  function keepErrors() {
    var page = $(document, "main.page");
    if (!page) return;
    $$(document, ".messages .message.error").forEach(function (toast) {
      var notice = document.createElement("div");
      notice.className = "notice error";
      notice.setAttribute("role", "alert");
      notice.textContent = toast.textContent;
      page.insertBefore(notice, page.firstChild);
      toast.remove();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    keepErrors();
    $$(document, "[data-hours-editor]").forEach(initHoursEditor);
    $$(document, "[data-special-form]").forEach(initSpecialForm);
    $$(document, "table[data-variants]").forEach(initVariants);
    $$(document, "form[data-staff-form]").forEach(initStaffForm);
    $$(document, ".listings-table").forEach(initListings);
  });
})();
