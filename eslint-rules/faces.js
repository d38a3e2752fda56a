// Lint rule `local/faces`: a folder of src/ is a room, and its index.ts is its face. A file may import
// the files of its own folder and of the folders above it, and the face (index.ts) of any other
// room; never a file inside another room. docs/architecture.md says what each face offers.
import path from 'node:path';

/** The face an import must go through, or undefined when the import is allowed as written. */
export function requiredFace(importer, target) {
  const from = path.dirname(importer).split(path.sep);
  const to = target.replace(/\.(js|ts)$/, '').split(path.sep);
  let i = 0;
  while (i < Math.min(from.length, to.length - 1) && from[i] === to[i]) i++;
  const rest = to.slice(i);
  if (rest.length === 1 || (rest.length === 2 && rest[1] === 'index')) return undefined;
  return to.slice(0, i + 1).join(path.sep);
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'import another room of src/ only through its face (index.ts)' },
    messages: {
      inside:
        "'{{spec}}' reaches inside the room {{room}}: import it from '{{face}}' (add it to that face if it should be public).",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), spec);
      const face = requiredFace(path.resolve(file), target);
      if (!face) return;
      let rel = path.relative(path.dirname(file), path.join(face, 'index.js'));
      if (!rel.startsWith('.')) rel = `./${rel}`;
      context.report({
        node: node.source,
        messageId: 'inside',
        data: { spec, room: path.relative(process.cwd(), face), face: rel },
      });
    };
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};
