/**
 * A TransformStream that splits text into lines (stand-in for @std/streams,
 * which cannot be fetched here).
 */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf("\n")) >= 0) {
          controller.enqueue(buffer.slice(0, i));
          buffer = buffer.slice(i + 1);
        }
      },
      flush(controller) {
        if (buffer.length > 0) controller.enqueue(buffer);
      },
    });
  }
}
