// The workflow studio's editor: CodeMirror over the textarea when it loads (the textarea
// alone still works), and every change checked by the server's validator, each problem
// shown at its line and listed under the editor.
(function () {
  "use strict";
  var form = document.getElementById("editeur");
  if (!form) { return; }
  var textarea = document.getElementById("source");
  var panel = document.getElementById("problemes");
  var checkUrl = form.getAttribute("data-check-url");
  var token = form.querySelector("input[name=csrf_token]").value;
  var editor = null;
  var sequence = 0;

  function check(text) {
    var mine = ++sequence;
    var body = new URLSearchParams();
    body.set("source", text);
    return fetch(checkUrl, {
      method: "POST",
      headers: { "X-CSRFToken": token, "Accept": "application/json" },
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json();
    }).then(function (result) {
      if (mine !== sequence) { return null; }  // a newer check is on its way
      showList(result.problems);
      return result.problems;
    }).catch(function () {
      showFailure();
      return null;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function showList(problems) {
    panel.textContent = "";
    var errors = problems.filter(function (p) { return p.severity === "error"; });
    var box = element("div", "fr-alert fr-alert--sm " + (errors.length ? "fr-alert--error" : problems.length ? "fr-alert--warning" : "fr-alert--success"));
    if (!problems.length) {
      box.appendChild(element("p", "", "La définition est valide."));
      panel.appendChild(box);
      return;
    }
    box.appendChild(element("p", "", problems.length + " problème(s) à corriger avant de publier :"));
    var list = element("ul");
    problems.forEach(function (p) {
      var item = element("li");
      item.setAttribute("data-line", p.line);
      var link = element("a", "guichet-problem-link", "Ligne " + p.line + ", colonne " + p.column);
      link.href = "#ligne-" + p.line;
      link.addEventListener("click", function (event) {
        event.preventDefault();
        goTo(p.line, p.column);
      });
      item.appendChild(link);
      item.appendChild(document.createTextNode(" : " + p.message + (p.severity === "error" ? "" : " (avertissement)")));
      list.appendChild(item);
    });
    box.appendChild(list);
    panel.appendChild(box);
  }

  function showFailure() {
    panel.textContent = "";
    var box = element("div", "fr-alert fr-alert--sm fr-alert--info");
    box.appendChild(element("p", "", "La vérification n'a pas pu être faite (connexion ?) : elle sera refaite à l'enregistrement."));
    panel.appendChild(box);
  }

  function goTo(line, column) {
    if (editor) {
      editor.focus();
      editor.setCursor({ line: line - 1, ch: Math.max(column - 1, 0) });
      editor.scrollIntoView(null, 120);
      return;
    }
    var lines = textarea.value.split("\n");
    var offset = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
    textarea.focus();
    textarea.setSelectionRange(offset + column - 1, offset + column - 1);
  }

  // Links of the list the server rendered (before any check ran) jump too.
  panel.addEventListener("click", function (event) {
    var link = event.target.closest(".guichet-problem-link");
    if (!link || event.defaultPrevented) { return; }
    var item = link.closest("li[data-line]");
    event.preventDefault();
    goTo(parseInt(item.getAttribute("data-line"), 10), parseInt(item.getAttribute("data-column") || "1", 10));
  });

  if (window.CodeMirror) {
    editor = window.CodeMirror.fromTextArea(textarea, {
      mode: "yaml",
      lineNumbers: true,
      indentUnit: 2,
      tabSize: 2,
      lineWrapping: true,
      gutters: ["CodeMirror-lint-markers"],
      extraKeys: {
        // YAML forbids tabs: the Tab key indents with spaces.
        Tab: function (cm) { cm.replaceSelection("  ", "end"); }
      },
      lint: {
        async: true,
        delay: 500,
        getAnnotations: function (text, update) {
          check(text).then(function (problems) {
            if (!problems) { return; }
            update(problems.map(function (p) {
              var line = Math.max(p.line - 1, 0);
              var ch = Math.max(p.column - 1, 0);
              return {
                from: window.CodeMirror.Pos(line, ch),
                to: window.CodeMirror.Pos(line, ch + 1),
                message: p.message,
                severity: p.severity === "error" ? "error" : "warning"
              };
            }));
          });
        }
      }
    });
    editor.getWrapperElement().classList.add("guichet-editor");
    form.addEventListener("submit", function () { editor.save(); });
  } else {
    var timer = null;
    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { check(textarea.value); }, 500);
    });
  }
}());
