// Applies the saved theme before the first paint. A classic (blocking) script on purpose: modules run
// after parsing, which would flash the light theme first. No inline script: the CSP forbids it.
(function () {
  try {
    var saved = window.localStorage.getItem('aiprism-theme');
    if (saved === 'dark' || saved === 'light') {
      document.documentElement.setAttribute('data-theme', saved);
    }
  } catch (e) {
    // Storage may be disabled; the system preference then applies.
  }
})();
