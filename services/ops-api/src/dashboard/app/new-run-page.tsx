// `/new`: a bundled sample or a product as JSON; the API's validation message is shown next to the field.
import { useState } from 'preact/hooks';
import { api } from './api';
import { navigate } from './router';
type Errors = { sample?: string; product?: string };

export function NewRunPage(p: { flash: (m: string) => void }) {
  const [errors, setErrors] = useState<Errors>({});
  const create = async (which: keyof Errors, body: unknown) => {
    try {
      const run = await api<{ id: string }>('/api/runs', { method: 'POST', body });
      p.flash(`Run ${run.id} created`);
      navigate(`/runs/${run.id}`);
    } catch (e) {
      setErrors({ [which]: (e as Error).message });
    }
  };
  const fromSample = (sample: string) => {
    setErrors({});
    return create('sample', { sample });
  };
  const fromJson = (json: string) => {
    setErrors({});
    let product: unknown;
    try {
      product = JSON.parse(json);
    } catch (e) {
      return setErrors({ product: `not valid JSON: ${(e as Error).message}` });
    }
    return create('product', { product });
  };
  return (
    <section aria-labelledby="h-new">
      <h2 id="h-new">New run</h2>
      <SampleForm error={errors.sample} onSubmit={fromSample} />
      <ProductForm error={errors.product} onSubmit={fromJson} />
    </section>
  );
}

function SampleForm(p: { error?: string; onSubmit: (sample: string) => unknown }) {
  const [sample, setSample] = useState('consistent');
  return (
    <form
      class="new-run"
      onSubmit={(e) => {
        e.preventDefault();
        void p.onSubmit(sample);
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
        {p.error ?? ''}
      </p>
    </form>
  );
}

function ProductForm(p: { error?: string; onSubmit: (json: string) => unknown }) {
  const [json, setJson] = useState('');
  return (
    <form
      class="new-run"
      onSubmit={(e) => {
        e.preventDefault();
        void p.onSubmit(json);
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
        {p.error ?? ''}
      </p>
    </form>
  );
}
