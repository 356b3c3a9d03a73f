// Small progressive enhancements. Every page works without this file; CSP forbids inline scripts,
// so behaviour is wired here through data attributes.
//
//   <button data-copy="element-id" hidden>Copy</button>   copies that element's text (shown only with JS)
//   <a href="?confirm=x" data-dialog-open="dialog-id">    opens a <dialog> instead of following the link
//   <button data-dialog-close>                            closes the <dialog> it sits in
//   response header HX-Trigger: closeDialog               closes every open <dialog>
//                                                          (django_htmx.http.trigger_client_event)
//   <input data-slug-from="name-input-id">                 follows that input as a slug until edited
//                                                          (without JS the server derives an empty slug)
//   [data-focus-after-swap] in an htmx answer              takes focus after a successful action
//
// Focus after an htmx action (one a person started: a submit, a click, a change), once it settled:
//   errors  -> the error summary (.errorlist.nonfield, an .alert-danger) or else the first invalid field
//   success -> an element marked data-focus-after-swap, else (when the swap took focus away with the
//              element that had it) the action's message, else the page's heading
// A <dialog> gives focus back to what opened it. The user menu is a disclosure: Escape closes it and
// returns to its button, focus leaving it closes it.
(function () {
  "use strict";

  function wire(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
    // Stacked rows on phones (app.css) show each cell's column name, taken from the header.
    root.querySelectorAll("table.table").forEach(function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.querySelector(".sr-only") ? "" : th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (!cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[index] || "");
        });
      });
    });
    markScrollingTables();
  }

  // A table wider than its box scrolls sideways: it becomes a named region that takes focus, so a
  // keyboard can scroll it and a screen reader hears that it scrolls.
  function markScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var caption = wrap.querySelector("caption");
        var section = wrap.closest("section, .card");
        var heading = section && section.querySelector("h2, h3");
        var name = (caption || heading || { textContent: "Table" }).textContent.trim();
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", name + " (scrolls sideways)");
        wrap.setAttribute("tabindex", "0");
      } else if (!scrolls && wrap.getAttribute("tabindex") === "0") {
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        wrap.removeAttribute("tabindex");
      }
    });
  }
  window.addEventListener("resize", markScrollingTables);

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.dataset.copy);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = copy.textContent;
          copy.textContent = "Copied";
          setTimeout(function () {
            copy.textContent = label;
          }, 1500);
        });
      }
      return;
    }
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog && dialog.showModal) {
        event.preventDefault();
        openers.set(dialog, opener);
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var parent = closer.closest("dialog");
      if (parent) {
        event.preventDefault();
        parent.close();
      }
    }
  });

  // Same rule as the orchestrator forms' derive_slug: lowercase ASCII words joined by dashes.
  function slugify(text) {
    return text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/g, "");
  }

  // A slug input follows its name input until the user edits the slug (or it started filled).
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[data-slug-from]")) {
      input.dataset.slugEdited = "1";
      return;
    }
    document.querySelectorAll("input[data-slug-from]").forEach(function (slug) {
      if (slug.dataset.slugFrom !== input.id) return;
      if (slug.dataset.slugEdited === "1") return;
      if (slug.defaultValue && slug.dataset.slugEdited !== "0") return;
      slug.dataset.slugEdited = "0";
      slug.value = slugify(input.value);
    });
  });

  // The user menu is a <details> disclosure: close it on a click elsewhere, on Escape (focus goes back
  // to its summary, which would otherwise fall to <body>) and when focus leaves it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      var inside = menu.contains(document.activeElement);
      menu.open = false;
      if (inside) menu.querySelector("summary").focus();
    });
  });
  document.addEventListener("focusout", function (event) {
    var menu = event.target.closest && event.target.closest("details.usermenu[open]");
    if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) {
      menu.open = false;
    }
  });

  // A dialog hands focus back to the button or link that opened it.
  var openers = new WeakMap();
  document.addEventListener(
    "close",
    function (event) {
      var opener = openers.get(event.target);
      if (opener && opener.isConnected) opener.focus();
    },
    true
  );

  function focusable(element) {
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return document.activeElement === element;
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  var PERSON_STARTED = { submit: true, click: true, change: true, keyup: true, input: true, search: true };

  // A page may carry a standing alert (a suspended account, a failed job): only an alert the answer
  // brought is the action's error, so the alerts present before the swap are remembered.
  var standingAlerts = [];
  function alertTexts() {
    return Array.prototype.map.call(document.querySelectorAll(".alert-danger"), function (alert) {
      return alert.textContent;
    });
  }
  document.body.addEventListener("htmx:beforeSwap", function () {
    standingAlerts = alertTexts();
  });
  function newAlert(scope) {
    return Array.prototype.find.call(scope.querySelectorAll(".alert-danger"), function (alert) {
      return standingAlerts.indexOf(alert.textContent) === -1;
    });
  }

  // After an action a person started, focus goes where the answer is (see the top of this file).
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var trigger = config && config.triggeringEvent;
    if (!trigger || !PERSON_STARTED[trigger.type]) return; // polling and live updates leave focus alone
    var scope = document.getElementById("main") || document.body;
    var dialog = document.querySelector("dialog[open]");
    var where = dialog || scope;
    var summary = where.querySelector(".errorlist.nonfield") || newAlert(where);
    var invalid = where.querySelector('[aria-invalid="true"]');
    if (summary && focusable(summary)) return;
    if (invalid && focusable(invalid)) return;
    var marked = scope.querySelector("[data-focus-after-swap]");
    if (marked && focusable(marked)) return;
    if (!focusLost()) return;
    var message = scope.querySelector(":scope > .messages .alert");
    if (message && focusable(message)) return;
    var heading = scope.querySelector("h1");
    if (heading) focusable(heading);
  });

  document.body.addEventListener("closeDialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) {
      dialog.close();
    });
  });

  // django-otp-webauthn's script (Settings > Security) added a passkey: reload to list it.
  document.addEventListener("otp_webauthn.register_complete", function () {
    window.location.reload();
  });

  wire(document);
  document.body.addEventListener("htmx:afterSwap", function (event) {
    wire(event.target);
  });
})();
