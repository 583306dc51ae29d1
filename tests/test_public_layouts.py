"""Public hourglass checkpoints load onto our network and compute what the original computes.

Each layout gets a compact re-implementation of the published module tree (same attribute
names, same forward; only the hard-coded widths are parameters, to keep the test fast), with
random weights and BatchNorm statistics, saved the way that project's training script saves it.

bearpaw's stem widens one residual earlier than Newell's, which ``HourglassConfig.stem``
expresses; everything after the stem is also checked on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.model.architecture import HourglassConfig
from app.model.checkpoint import load_checkpoint
from app.model.public_layouts import BEARPAW, unwrap
from app.model.spec import CheckpointError
from app.pose.skeleton import MPII16

JOINTS = 16
SIZE = 64  # input pixels: heatmaps are 16 x 16, the depth-4 hourglass bottoms out at 1 x 1


# --- princeton-vl/pytorch_stacked_hourglass: models/layers.py and models/posenet.py ------------


class PvConv(nn.Module):
    def __init__(self, inp_dim, out_dim, kernel_size=3, stride=1, bn=False, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(inp_dim, out_dim, kernel_size, stride, (kernel_size - 1) // 2)
        self.relu = nn.ReLU() if relu else None
        self.bn = nn.BatchNorm2d(out_dim) if bn else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return x if self.relu is None else self.relu(x)


class PvResidual(nn.Module):
    def __init__(self, inp_dim, out_dim):
        super().__init__()
        half = out_dim // 2
        self.relu = nn.ReLU()
        self.bn1 = nn.BatchNorm2d(inp_dim)
        self.conv1 = PvConv(inp_dim, half, 1, relu=False)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv2 = PvConv(half, half, 3, relu=False)
        self.bn3 = nn.BatchNorm2d(half)
        self.conv3 = PvConv(half, out_dim, 1, relu=False)
        self.skip_layer = PvConv(inp_dim, out_dim, 1, relu=False)  # built even when unused
        self.need_skip = inp_dim != out_dim

    def forward(self, x):
        residual = self.skip_layer(x) if self.need_skip else x
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        return out + residual


class PvHourglass(nn.Module):
    def __init__(self, n, f, increase=0):
        super().__init__()
        nf = f + increase
        self.up1 = PvResidual(f, f)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.low1 = PvResidual(f, nf)
        self.low2 = PvHourglass(n - 1, nf) if n > 1 else PvResidual(nf, nf)
        self.low3 = PvResidual(nf, f)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        return self.up1(x) + self.up2(self.low3(self.low2(self.low1(self.pool1(x)))))


class PvMerge(nn.Module):
    def __init__(self, x_dim, y_dim):
        super().__init__()
        self.conv = PvConv(x_dim, y_dim, 1, relu=False, bn=False)

    def forward(self, x):
        return self.conv(x)


class PoseNet(nn.Module):
    """Published: ``PoseNet(nstack, inp_dim=256, oup_dim=16)`` with a 64/128 stem, depth 4."""

    def __init__(self, nstack, inp_dim, oup_dim, stem=64, increase=0):
        super().__init__()
        self.nstack = nstack
        self.pre = nn.Sequential(
            PvConv(3, stem, 7, 2, bn=True, relu=True),
            PvResidual(stem, 2 * stem),
            nn.MaxPool2d(2, 2),
            PvResidual(2 * stem, 2 * stem),
            PvResidual(2 * stem, inp_dim),
        )
        self.hgs = nn.ModuleList(
            nn.Sequential(PvHourglass(4, inp_dim, increase)) for _ in range(nstack)
        )
        self.features = nn.ModuleList(
            nn.Sequential(PvResidual(inp_dim, inp_dim), PvConv(inp_dim, inp_dim, 1, bn=True))
            for _ in range(nstack)
        )
        self.outs = nn.ModuleList(
            PvConv(inp_dim, oup_dim, 1, relu=False, bn=False) for _ in range(nstack)
        )
        self.merge_features = nn.ModuleList(PvMerge(inp_dim, inp_dim) for _ in range(nstack - 1))
        self.merge_preds = nn.ModuleList(PvMerge(oup_dim, inp_dim) for _ in range(nstack - 1))

    def forward(self, imgs):
        x = self.pre(imgs.permute(0, 3, 1, 2))  # NHWC in
        combined_hm_preds = []
        for i in range(self.nstack):
            feature = self.features[i](self.hgs[i](x))
            preds = self.outs[i](feature)
            combined_hm_preds.append(preds)
            if i < self.nstack - 1:
                x = x + self.merge_preds[i](preds) + self.merge_features[i](feature)
        return torch.stack(combined_hm_preds, 1)


class Trainer(nn.Module):
    """princeton-vl's task/pose.py wrapper: its state dict is what train.py saves."""

    def __init__(self, model):
        super().__init__()
        self.model = model


# --- bearpaw/pytorch-pose: pose/models/hourglass.py --------------------------------------------


class Bottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=True)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 2, kernel_size=1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        out = self.conv3(self.relu(self.bn3(out)))
        residual = x if self.downsample is None else self.downsample(x)
        return out + residual


class BpHourglass(nn.Module):
    def __init__(self, block, num_blocks, planes, depth):
        super().__init__()
        self.depth = depth
        self.upsample = nn.Upsample(scale_factor=2)
        self.hg = nn.ModuleList(
            nn.ModuleList(
                self._make_residual(block, num_blocks, planes) for _ in range(4 if i == 0 else 3)
            )
            for i in range(depth)
        )

    def _make_residual(self, block, num_blocks, planes):
        return nn.Sequential(*(block(planes * block.expansion, planes) for _ in range(num_blocks)))

    def _hour_glass_forward(self, n, x):
        up1 = self.hg[n - 1][0](x)
        low1 = self.hg[n - 1][1](F.max_pool2d(x, 2, stride=2))
        low2 = self._hour_glass_forward(n - 1, low1) if n > 1 else self.hg[n - 1][3](low1)
        return up1 + self.upsample(self.hg[n - 1][2](low2))

    def forward(self, x):
        return self._hour_glass_forward(self.depth, x)


class HourglassNet(nn.Module):
    """Published: ``inplanes=64``, ``num_feats=128`` (so 256 channels), depth 4."""

    def __init__(self, num_stacks, num_blocks, num_classes, inplanes=64, num_feats=128):
        super().__init__()
        block = Bottleneck
        self.inplanes = inplanes
        self.num_feats = num_feats
        self.num_stacks = num_stacks
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=True)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_residual(block, self.inplanes, 1)
        self.layer2 = self._make_residual(block, self.inplanes, 1)
        self.layer3 = self._make_residual(block, self.num_feats, 1)
        self.maxpool = nn.MaxPool2d(2, stride=2)
        ch = self.num_feats * block.expansion
        self.hg = nn.ModuleList(
            BpHourglass(block, num_blocks, self.num_feats, 4) for _ in range(num_stacks)
        )
        self.res = nn.ModuleList(
            self._make_residual(block, self.num_feats, num_blocks) for _ in range(num_stacks)
        )
        self.fc = nn.ModuleList(
            nn.Sequential(nn.Conv2d(ch, ch, 1), nn.BatchNorm2d(ch), self.relu)
            for _ in range(num_stacks)
        )
        self.score = nn.ModuleList(nn.Conv2d(ch, num_classes, 1) for _ in range(num_stacks))
        self.fc_ = nn.ModuleList(nn.Conv2d(ch, ch, 1) for _ in range(num_stacks - 1))
        self.score_ = nn.ModuleList(nn.Conv2d(num_classes, ch, 1) for _ in range(num_stacks - 1))

    def _make_residual(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride=stride, bias=True)
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        out = []
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.maxpool(self.layer1(x))))
        for i in range(self.num_stacks):
            y = self.fc[i](self.res[i](self.hg[i](x)))
            score = self.score[i](y)
            out.append(score)
            if i < self.num_stacks - 1:
                x = x + self.fc_[i](y) + self.score_[i](score)
        return out


# --- helpers -----------------------------------------------------------------------------------


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and BatchNorm statistics (so BN is not the identity), in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0, fan_in**-0.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
                module.running_mean.normal_(0, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.num_batches_tracked.fill_(1000)
    return model.eval()


def princeton_checkpoint(net: PoseNet) -> dict:
    """What princeton-vl's train.py saves: Trainer(DataParallel(PoseNet)), plus optimiser."""
    wrapped = Trainer(nn.DataParallel(net))
    optimizer = torch.optim.Adam(wrapped.parameters(), 1e-3)
    return {"state_dict": wrapped.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}


def bearpaw_checkpoint(net: HourglassNet) -> dict:
    """What bearpaw's example/main.py saves from DataParallel(model)."""
    wrapped = nn.DataParallel(net)
    optimizer = torch.optim.RMSprop(wrapped.parameters(), lr=2.5e-4)
    return {
        "epoch": 3,
        "arch": "hg",
        "state_dict": wrapped.state_dict(),
        "best_acc": 0.5,
        "optimizer": optimizer.state_dict(),
    }


def save(checkpoint: dict, tmp_path: Path, name: str = "model.pth.tar") -> Path:
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def assert_same_heatmaps(ours: list[torch.Tensor], theirs: list[torch.Tensor]) -> None:
    assert len(ours) == len(theirs)
    for stack, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert reference.abs().max() > 0.1, f"stack {stack}: a degenerate reference"
        torch.testing.assert_close(mine, reference, atol=1e-5, rtol=1e-5, msg=f"stack {stack}")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These networks are tiny: extra threads only spin against other work on the machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def princeton() -> PoseNet:
    return randomised(PoseNet(nstack=2, inp_dim=32, oup_dim=JOINTS, stem=8))


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    return torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


# --- tests -------------------------------------------------------------------------------------


@torch.no_grad()
def test_princeton_checkpoint_computes_the_same_heatmaps(princeton, image, tmp_path):
    loaded = load_checkpoint(save(princeton_checkpoint(princeton), tmp_path))
    reference = princeton(image.permute(0, 2, 3, 1))  # their forward takes NHWC
    assert_same_heatmaps(loaded.network(image), list(reference.unbind(1)))


def small_bearpaw(num_blocks: int, stacks: int = 2, joints: int = JOINTS) -> HourglassNet:
    return randomised(HourglassNet(stacks, num_blocks, joints, inplanes=8, num_feats=16), seed=7)


@pytest.mark.parametrize("num_blocks", [1, 2])
@torch.no_grad()
def test_bearpaw_checkpoint_computes_the_same_heatmaps(num_blocks, image, tmp_path):
    net = small_bearpaw(num_blocks)
    loaded = load_checkpoint(save(bearpaw_checkpoint(net), tmp_path))
    spec = loaded.spec
    assert (spec.layout, spec.skeleton, spec.input_size) == ("bearpaw", MPII16, 256)
    assert spec.mean == pytest.approx((0.4404, 0.4440, 0.4327))
    assert (spec.std, spec.sigma) == ((1.0, 1.0, 1.0), 1.0)
    assert_same_heatmaps(loaded.network(image), net(image))


@pytest.mark.parametrize("num_blocks", [1, 2])
def test_bearpaw_sizes_are_inferred_from_the_tensors(num_blocks):
    path = Path("bearpaw.pth.tar")
    state = unwrap(bearpaw_checkpoint(small_bearpaw(num_blocks)), path)
    assert BEARPAW.infer_config(state, path) == HourglassConfig(
        stacks=2, channels=32, depth=4, joints=JOINTS, blocks=num_blocks, stem_channels=8,
        stem="bearpaw",
    )


def test_princeton_spec_is_inferred_from_the_tensors(princeton, tmp_path):
    spec = load_checkpoint(save(princeton_checkpoint(princeton), tmp_path)).spec
    config = spec.config
    assert (config.stacks, config.channels, config.depth, config.blocks) == (2, 32, 4, 1)
    assert (config.joints, config.stem_channels) == (JOINTS, 8)
    assert spec.layout == "princeton-vl"
    assert spec.skeleton == MPII16
    assert (spec.input_size, spec.mean, spec.std) == (256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert spec.sigma == 1.0  # decoded with the blur its targets had


@torch.no_grad()
def test_a_bare_state_dict_without_prefixes_loads(princeton, image, tmp_path):
    loaded = load_checkpoint(save(princeton.state_dict(), tmp_path, "bare.pth"))
    reference = princeton(image.permute(0, 2, 3, 1))
    assert_same_heatmaps(loaded.network(image), list(reference.unbind(1)))


@torch.no_grad()
def test_weights_saved_before_batchnorm_counted_batches_load(princeton, image, tmp_path):
    state = {k: v for k, v in princeton.state_dict().items() if "num_batches" not in k}
    loaded = load_checkpoint(save({"state_dict": state}, tmp_path))
    reference = princeton(image.permute(0, 2, 3, 1))
    assert_same_heatmaps(loaded.network(image), list(reference.unbind(1)))


@pytest.mark.parametrize(
    ("removed", "ours"),
    [
        ("model.module.hgs.1.0.low2.low2.up1.bn2.running_var",
         "stacks.1.hourglass.inner.inner.skip.0.bn2.running_var"),
        ("model.module.merge_preds.0.conv.conv.bias", "reinjections.0.heatmaps.bias"),
    ],
)
def test_a_missing_tensor_is_reported_by_name(princeton, tmp_path, removed, ours):
    checkpoint = princeton_checkpoint(princeton)
    del checkpoint["state_dict"][removed]
    path = save(checkpoint, tmp_path)
    with pytest.raises(CheckpointError, match="missing") as caught:
        load_checkpoint(path)
    assert str(path) in str(caught.value)
    assert ours in str(caught.value)


def test_a_missing_size_tensor_is_reported_as_missing(tmp_path):
    checkpoint = bearpaw_checkpoint(small_bearpaw(1, stacks=1))
    del checkpoint["state_dict"]["module.score.0.weight"]
    with pytest.raises(CheckpointError, match=r"score\.0\.weight is missing"):
        load_checkpoint(save(checkpoint, tmp_path))


def test_a_dict_in_neither_layout_is_refused(tmp_path):
    path = save({"state_dict": {"encoder.weight": torch.zeros(3)}, "epoch": 1}, tmp_path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert str(path) in message
    assert "princeton-vl" in message
    assert "bearpaw" in message
    assert "encoder.weight" in message


def test_a_tensor_from_a_modified_network_is_refused(princeton, tmp_path):
    checkpoint = princeton_checkpoint(princeton)
    checkpoint["state_dict"]["model.module.attention.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"not part of that network \(attention\.weight\)"):
        load_checkpoint(save(checkpoint, tmp_path))


def test_a_widening_princeton_hourglass_is_refused_clearly(tmp_path):
    net = randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=JOINTS, stem=8, increase=8))
    with pytest.raises(CheckpointError, match="increase=8"):
        load_checkpoint(save(princeton_checkpoint(net), tmp_path))


def test_a_model_for_other_joints_is_refused(tmp_path):
    net = randomised(PoseNet(nstack=1, inp_dim=16, oup_dim=17, stem=8))
    with pytest.raises(CheckpointError, match="17 joints"):
        load_checkpoint(save(princeton_checkpoint(net), tmp_path))
