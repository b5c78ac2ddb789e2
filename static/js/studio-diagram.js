// Draw the studio's Mermaid diagrams (their text is in the page; nothing runs from it).
(function () {
  "use strict";
  if (!window.mermaid) { return; }
  window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
  window.mermaid.run({ querySelector: ".guichet-mermaid" });
}());
