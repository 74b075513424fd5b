import type { KubeApi } from '@berth/kube';
import type { TokenReviewStatus } from './admission.js';

/** Asks the API server whether `token` is valid for `audience`, and whose it is (a TokenReview). */
export async function reviewToken(api: KubeApi, token: string, audience: string): Promise<TokenReviewStatus> {
  const review = await api.create<{ status?: TokenReviewStatus }>('/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token, audiences: [audience] },
  });
  return review.status ?? {};
}
