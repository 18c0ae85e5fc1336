// Inside a bridge: which augmenting positions each anchor position reads (cross-attention
// weights [T anchor][S augmenting], one head or their mean), for one connection and the
// Compare prompt. The mask is causal, so the upper triangle stays empty.
import { chooseAttentionConnection, chooseAttentionHead, headWeights, isTraining, modelSizes, showAttention, useAppStore } from '../store';
import { connectionLabel } from '../store/mapping';

export function AttentionHeatmap() {
  const attention = useAppStore((s) => s.attention);
  const connections = useAppStore((s) => s.config.connections);
  const training = useAppStore((s) => isTraining(s.training));
  const augmentLayers = useAppStore((s) => modelSizes(s, s.config.augment)?.nLayer);
  const { map, head, shown } = attention;
  const weights = map ? headWeights(map, head) : [];

  return (
    <div className="attention">
      <h3>Cross-attention</h3>
      <div className="prompt-row">
        <div className="field">
          <label htmlFor="attention-connection">Connection</label>
          <select id="attention-connection" value={attention.connection} onChange={(e) => chooseAttentionConnection(Number(e.target.value))}>
            {connections.map((c, i) => (
              <option key={`${c[0]}:${c[1]}`} value={i}>
                bridge {i}: {connectionLabel(c, augmentLayers)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="attention-head">Head</label>
          <select id="attention-head" value={String(head)} onChange={(e) => chooseAttentionHead(e.target.value === 'mean' ? 'mean' : Number(e.target.value))}>
            <option value="mean">mean of all heads</option>
            {Array.from({ length: map?.heads ?? 0 }, (_, h) => (
              <option key={h} value={h}>
                head {h + 1}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={() => void showAttention()} disabled={attention.status === 'running' || training || connections.length === 0}>
          Show attention
        </button>
      </div>
      {attention.status === 'error' && (
        <p role="alert" className="error">
          {attention.error}
        </p>
      )}
      {map && shown && (
        <>
          <p className="muted small">
            Prompt <code>{shown.prompt}</code>, bridge {shown.connection}
            {connections[shown.connection] ? ` (${connectionLabel(connections[shown.connection], augmentLayers)})` : ''}. Rows: anchor positions; columns:
            the augmenting positions they read. Darker = more weight.
          </p>
          <div className="heatmap-scroll">
            <table className="heatmap" aria-label="Cross-attention weights">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="visually-hidden">anchor \ augmenting</span>
                  </th>
                  {map.tokens.map((tok, s) => (
                    <th key={s} scope="col">
                      {show(tok)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {weights.map((row, t) => (
                  <tr key={t}>
                    <th scope="row">{show(map.tokens[t] ?? '')}</th>
                    {row.map((w, s) => (
                      <td
                        key={s}
                        style={{ backgroundColor: `rgba(224, 135, 43, ${Math.min(1, w).toFixed(3)})` }}
                        title={`anchor ${t} (${show(map.tokens[t] ?? '')}) reads augmenting ${s} (${show(map.tokens[s] ?? '')}): ${w.toFixed(3)}`}
                      >
                        <span className="visually-hidden">{w.toFixed(2)}</span>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}

function show(token: string): string {
  return token === ' ' ? '␠' : token;
}
