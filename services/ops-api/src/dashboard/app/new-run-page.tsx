// `/new`: a bundled sample or a product as JSON; the API's validation message is shown next to the field.
import { useState } from 'preact/hooks';
import { api } from './api';
import { navigate } from './router';

export function NewRunPage(p: { flash: (m: string) => void }) {
  const [sample, setSample] = useState('consistent');
  const [json, setJson] = useState('');
  const [errors, setErrors] = useState<{ sample?: string; product?: string }>({});
  const submit = async (which: 'sample' | 'product') => {
    setErrors({});
    let body: unknown;
    if (which === 'sample') body = { sample };
    else {
      try {
        body = { product: JSON.parse(json) };
      } catch (e) {
        return setErrors({ product: `not valid JSON: ${(e as Error).message}` });
      }
    }
    try {
      const run = await api<{ id: string }>('/api/runs', { method: 'POST', body });
      p.flash(`Run ${run.id} created`);
      navigate(`/runs/${run.id}`);
    } catch (e) {
      setErrors({ [which]: (e as Error).message });
    }
  };
  return (
    <section aria-labelledby="h-new">
      <h2 id="h-new">New run</h2>
      <form
        class="new-run"
        onSubmit={(e) => {
          e.preventDefault();
          void submit('sample');
        }}
      >
        <label for="sample">Sample</label>
        <select
          id="sample"
          value={sample}
          onChange={(e) => setSample(e.currentTarget.value)}
          aria-describedby="sample-error"
        >
          <option>consistent</option>
          <option>conflict</option>
        </select>
        <button type="submit">Start sample</button>
        <p id="sample-error" class="error" role="alert">
          {errors.sample ?? ''}
        </p>
      </form>
      <form
        class="new-run"
        onSubmit={(e) => {
          e.preventDefault();
          void submit('product');
        }}
      >
        <label for="product">Product JSON</label>
        <textarea
          id="product"
          rows={10}
          value={json}
          onInput={(e) => setJson(e.currentTarget.value)}
          aria-describedby="product-error"
          placeholder='{"name": "Kettle", "sources": [{"url": "https://shop.example/p", "tier": 5}]}'
        />
        <button type="submit">Start run</button>
        <p id="product-error" class="error" role="alert">
          {errors.product ?? ''}
        </p>
      </form>
    </section>
  );
}
