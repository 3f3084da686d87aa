import { Type } from '@sinclair/typebox';
import { openApiSchemaOf } from './openapi';

describe('openApiSchemaOf', () => {
  it('turns a draft-07 schema into an OpenAPI 3.0 one: examples → example, no dependencies, no TypeBox symbols', () => {
    const schema = Type.Object(
      {
        a: Type.Optional(Type.String({ examples: ['x', 'y'], description: 'an a' })),
        list: Type.Array(Type.Object({ b: Type.Integer({ minimum: 1, examples: [2] }) }), { maxItems: 3 }),
      },
      { additionalProperties: false, dependencies: { a: ['list'] } },
    );
    const out = openApiSchemaOf(schema);
    expect(out).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['list'],
      properties: {
        a: { type: 'string', example: 'x', description: 'an a' },
        list: { type: 'array', maxItems: 3, items: { type: 'object', required: ['b'], properties: { b: { type: 'integer', minimum: 1, example: 2 } } } },
      },
    });
    expect(Object.getOwnPropertySymbols(out)).toEqual([]);
    // The schema Fastify validates with is left as it was.
    expect(schema.dependencies).toEqual({ a: ['list'] });
    expect(schema.properties.a.examples).toEqual(['x', 'y']);
  });
});
