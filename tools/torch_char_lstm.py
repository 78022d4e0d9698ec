"""The PyTorch peer of `backprop train --text FILE --model lstm:layers=2,hidden=256`: the same character-level LSTM
language model (an embedding of the hidden size, nn.LSTM batch-first with PyTorch's gate order, a linear head with
bias; PyTorch's default initialisation, as Backprop's layers use), the same data, split, recipe and steps (see
torch_char_common.py). Prints the validation loss in nats per character and tokens per second.

    /usr/bin/python3 tools/torch_char_lstm.py --text /usr/share/games/fortunes --steps 2000 [--threads N] [--json]
"""
import torch.nn as nn

from torch_char_common import arguments, train


class LstmLm(nn.Module):
    def __init__(self, vocab, layers, hidden, embed):
        super().__init__()
        self.wte = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.lm_head = nn.Linear(hidden, vocab)

    def forward(self, ids):
        return self.lm_head(self.lstm(self.wte(ids))[0])


def options(p):
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--embed", type=int, default=0, help="embedding size (0: the hidden size, as the lstm: preset)")


if __name__ == "__main__":
    args = arguments("char LSTM on text, Backprop's recipe, in PyTorch", options)
    embed = args.embed or args.hidden
    train(args, lambda vocab: LstmLm(vocab, args.layers, args.hidden, embed),
          f"LSTM-LM(layers={args.layers}, hidden={args.hidden}, embed={embed})")
