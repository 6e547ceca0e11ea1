# Regenerates the PyTorch checkpoints used by weights/pytorch_real_test.go
# (Debian python3-torch 1.13): run with /usr/bin/python3 gen.py.
import argparse, collections, json, torch

torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
sd = collections.OrderedDict()
sd["f32"] = base.clone()
sd["f32_t"] = base.t()                 # non-contiguous view
sd["f32_slice"] = base[1:3, 2:5]       # offset + strides, shares base's storage
sd["f16"] = (base - 1.5).half()
sd["bf16"] = (base * -3).bfloat16()
sd["f64"] = base.double() / 3
sd["i64"] = torch.tensor([[-5, 7], [1 << 40, 3]], dtype=torch.int64)
sd["i32"] = torch.tensor([-2, 2, 99], dtype=torch.int32)
sd["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
sd["u8"] = torch.tensor([0, 255, 9], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(2.5)
sd["expanded"] = torch.arange(3.0).expand(2, 3)  # stride 0

lin = torch.nn.Linear(3, 2)
want = {k: v.float().contiguous().flatten().tolist() for k, v in sd.items()}
want.update({"lin." + k: v.float().flatten().tolist() for k, v in lin.state_dict().items()})
shapes = {k: list(v.shape) for k, v in sd.items()}
shapes.update({"lin." + k: list(v.shape) for k, v in lin.state_dict().items()})

torch.save(sd, "dtypes.pt")
torch.save(sd, "dtypes_legacy.pt", _use_new_zipfile_serialization=False)
msd = collections.OrderedDict(("_forward_module.lin." + k, v) for k, v in lin.state_dict().items())
torch.save({"epoch": 3, "global_step": 10, "pytorch-lightning_version": "1.9.0",
            "state_dict": msd,
            "hyper_parameters": {"config": argparse.Namespace(lr=1e-4, name="x")},
            "optimizer_states": [{"state": {0: {"exp_avg": torch.zeros(2, 3)}}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]}]},
           "lightning.ckpt")
torch.save(lin.state_dict(), "linear.bin")  # module state dict with _metadata
json.dump({"values": want, "shapes": shapes}, open("expected.json", "w"))
