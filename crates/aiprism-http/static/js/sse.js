// A small parser for `text/event-stream` bodies read with fetch (EventSource cannot POST, and the
// chat answers its POST with a stream).

/** Yields `{event, data, id}` for every event in a fetch Response body. */
export async function* readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = { event: 'message', data: [], id: null };
  for (;;) {
    const { value, done } = await reader.read();
    buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (event.data.length) yield { event: event.event, data: event.data.join('\n'), id: event.id };
        event = { event: 'message', data: [], id: null };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let val = colon < 0 ? '' : line.slice(colon + 1);
      if (val.startsWith(' ')) val = val.slice(1);
      if (field === 'event') event.event = val;
      else if (field === 'data') event.data.push(val);
      else if (field === 'id') event.id = val;
    }
    if (done) {
      if (event.data.length) yield { event: event.event, data: event.data.join('\n'), id: event.id };
      return;
    }
  }
}
