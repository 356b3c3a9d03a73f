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
(function () {
  "use strict";

  function wire(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

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

  // Menus are <details>: close an open one on a click elsewhere or on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
        menu.open = false;
      });
    }
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
