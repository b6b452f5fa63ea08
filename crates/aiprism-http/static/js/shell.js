// What every page has: the theme toggle, the shortcut list (?) and the toast region. Importing this
// module sets them up once; page modules import it first.
import { $ } from './dom.js';
import { initTheme } from './theme.js';
import { initShortcuts, showHelp } from './shortcuts.js';

initTheme($('#theme-toggle'));
initShortcuts();
const help = $('#shortcuts-button');
if (help) help.addEventListener('click', showHelp);
